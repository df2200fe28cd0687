"""fabfile.py for real: `fab` over a private sshd drives a real dockerd on this machine.

One scenario, in the order an operator lives it: start a master behind its HTTPS proxy
(caddy, with a certificate from pebble, Let's Encrypt's ACME test server), build on it,
update to a new image while a build runs (the update waits for it, keeping the data
volume), restart with --force under a running build, survive an update to a broken image
by rolling back, read status and logs, announce, stop. The announcements land in a fake
Zulip.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from buildbot.configurators.janitor import JANITOR_NAME

from local.cluster import LocalCluster
from local.worker import create_worker
from tests.conftest import local_settings
from tests.e2e.acme import Pebble, check_https, https_settings, running_pebble
from tests.e2e.conftest import CHECKOUT, Images, SshHost, run
from tests.harness import CANCELLED, SUCCESS, GitRepo, Master, Session, wait_for
from tests.recording_server import RecordingServer, Request

FAB = Path(sys.executable).parent / "fab"
QUICK = {"name": "quick", "steps": [{"kind": "run", "command": ["true"]}]}
# The authority the master makes on its data volume (config/workers/tls.py).
MASTER_CA_IN_CONTAINER = "/srv/buildmaster/data/master/worker-tls/ca.pem"
SLOW = {"name": "slow", "steps": [{"kind": "run", "command": ["sleep", "600"]}]}
# A build that runs until the test lets it end (the file it waits for appears).
GATED = "while [ ! -e %s ]; do sleep 0.2; done"


class Deployment:
    """A settings file for one container, the fab command for it, and docker to look."""

    def __init__(
        self, tmp_path: Path, settings: dict[str, Any], ssh: SshHost, docker: list[str]
    ) -> None:
        self.settings = settings
        self.config_file = tmp_path / "config.yml"
        self.config_file.write_text(yaml.safe_dump(settings))
        self.ssh = ssh
        self.docker = docker
        self.name = settings["deploy"]["container"]
        # The harness's REST client; the cluster object only supplies the master's URL.
        self.master = Master(LocalCluster(tmp_path / "unused", settings))

    def _fab_command(self, task: str, *options: str) -> list[str]:
        command = [str(FAB), "-H", self.ssh.host, "-i", str(self.ssh.key), task]
        return [*command, f"--config-file={self.config_file}", *options]

    def fab(self, task: str, *options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._fab_command(task, *options),
            cwd=CHECKOUT,
            capture_output=True,
            text=True,
            timeout=900,
        )

    def fab_in_background(self, task: str, *options: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self._fab_command(task, *options),
            cwd=CHECKOUT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def remove(self) -> None:
        """Remove the containers, their volumes and the settings written for them."""
        for container in (self.name, f"{self.name}-https"):
            subprocess.run(
                [*self.docker, "rm", "--force", "--volumes", container], capture_output=True
            )
        for volume in (f"{self.name}-data", f"{self.name}-data-https"):
            subprocess.run([*self.docker, "volume", "rm", volume], capture_output=True)
        shutil.rmtree(self.settings["deploy"]["settings_dir"], ignore_errors=True)

    def image(self) -> str:
        return self.inspect("{{.Config.Image}}")

    def inspect(self, template: str) -> str:
        return run([*self.docker, "inspect", f"--format={template}", self.name]).stdout.strip()

    def force(self, builder: str) -> None:
        admin = Session.login(self.master.url, "admin", "admin-pw")
        status, answer = admin.control(
            "forceschedulers/demo-force", "force", builderNames=[builder], branch="master"
        )
        assert status == 200, answer

    def quiesce(self) -> None:
        """Stop every build and cancel every request (a build cut off by an update may be
        retried by the new master), until the master is idle."""
        admin = Session.login(self.master.url, "admin", "admin-pw")

        def idle() -> bool:
            running = self.master.builds(complete="false")
            pending = self.master.get("buildrequests", complete="false")["buildrequests"]
            for build in running:
                admin.control(f"builds/{build['buildid']}", "stop", reason="test over")
            for request in pending:
                admin.control(f"buildrequests/{request['buildrequestid']}", "cancel")
            return not running and not pending

        wait_for("the master to become idle", idle, timeout=120)


def announcements(zulip: RecordingServer) -> list[Request]:
    """The fabfile's messages to the local Zulip, oldest first (the master posts its build
    summaries there too, under their own topics)."""
    return [
        r
        for r in zulip.recorded()
        if r.path == "/api/v1/messages" and r.form.get("topic") == "deploy"
    ]


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def _start_worker(
    tmp_path: Path, settings: dict[str, Any], docker: list[str]
) -> subprocess.Popen[bytes]:
    """The master's one worker, on this machine (the container uses the host's network),
    trusting the authority the master made on its data volume."""
    ca = run(
        [*docker, "exec", settings["deploy"]["container"], "cat", MASTER_CA_IN_CONTAINER]
    ).stdout
    directory = create_worker(
        tmp_path / "worker-1",
        "127.0.0.1",
        settings["buildmaster"]["worker_port"],
        "worker-1",
        settings["workers"]["password"],
        ca,
    )
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.Popen(
        [str(bin_dir / "buildbot-worker"), "start", "--nodaemon", str(directory)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    with running_pebble(tmp_path_factory.mktemp("pebble")) as server:
        yield server


def _settings(
    tmp_path: Path,
    repo: GitRepo,
    images: Images,
    docker: list[str],
    builders: list[dict[str, Any]],
    settings_via: str = "file",
    https: dict[str, Any] | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """Settings for a master in a container of its own, on the host's network; behind
    HTTPS at https://localhost:<https_port>/ with ``https``."""
    name = f"buildmaster-test-{secrets.token_hex(4)}"
    if https is not None:
        public_url = f"https://localhost:{https['https_port']}/"
        sections["buildmaster"] = {"host": "localhost", "public_url": public_url}
    return local_settings(
        repo.url,
        builders,
        # The poller runs inside the container, where the repository's path is not.
        changes={"kind": "poll", "interval": 3600},
        deploy={
            "https": https,
            "image": images.repository,
            "tag": images.commit,
            "docker": docker,
            "container": name,
            "volume": f"{name}-data",
            "network": "host",
            "settings_dir": str(tmp_path / "etc"),
            "settings_via": settings_via,
            "run_options": ["--label=deployed-by=fab"],
            "health_timeout": 180,
        },
        **sections,
    )


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_fab_starts_behind_https_updates_after_running_builds_and_rolls_back(
    tmp_path: Path,
    repo: GitRepo,
    docker: list[str],
    images: Images,
    ssh_host: SshHost,
    fake_zulip: RecordingServer,
    pebble: Pebble,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Logins on the master's loopback port are sent on to its public (HTTPS) URL.
    (tmp_path / "roots.pem").write_text(pebble.issuing_root())
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "roots.pem"))
    gate = tmp_path / "gate"
    waits = {"name": "waits", "steps": [{"kind": "run", "command": ["sh", "-c", GATED % gate]}]}
    settings = _settings(
        tmp_path,
        repo,
        images,
        docker,
        [QUICK, SLOW, waits],
        https=https_settings(pebble),
        zulip={
            "site": fake_zulip.url,
            "bot_email": "deploy-bot@example.com",
            "api_key": "zulip-api-key",
            "stream": "builds",
        },
    )
    name = settings["deploy"]["container"]
    deployment = Deployment(tmp_path, settings, ssh_host, docker)
    master = deployment.master
    worker = None
    try:
        # start: the master comes up from the registry's image, behind HTTPS, with a fixed
        # hostname (Buildbot's name for it survives a new container).
        done = deployment.fab("start")
        assert done.returncode == 0, _output(done)
        assert deployment.image() == f"{images.repository}:{images.commit}"
        assert deployment.inspect("{{.Config.Hostname}}") == name
        builders = {b["name"] for b in master.get("builders")["builders"]}
        assert builders == {"quick", "slow", "waits", JANITOR_NAME}
        check_https(settings, pebble)

        # The settings sit in a root-only directory, readable by the container's user only,
        # and no secret shows in `docker inspect`.
        settings_file = tmp_path / "etc" / f"{name}.json"
        assert oct(settings_file.stat().st_mode & 0o777) == "0o400"
        assert settings_file.stat().st_uid == 10001
        assert oct((tmp_path / "etc").stat().st_mode & 0o777) == "0o700"
        inspected = run([*docker, "inspect", name]).stdout
        assert json.loads(inspected)[0]["Config"]["Labels"]["deployed-by"] == "fab"
        for secret in ("zulip-api-key", "admin-pw", settings["workers"]["password"]):
            assert secret not in inspected

        # A finished build: the history that must survive updates.
        worker = _start_worker(tmp_path, settings, docker)
        master.wait_workers(1)
        deployment.force("quick")
        (finished,) = master.wait_for_builds(1)
        assert finished["results"] == SUCCESS

        # update waits for the running build (the master starts no new one meanwhile),
        # says so on Zulip, and goes ahead when it ends: the build is not cut off.
        deployment.force("waits")
        (running,) = wait_for("the build to run", lambda: master.builds(complete="false") or None)
        updating = deployment.fab_in_background("update", f"--tag={images.changed}")
        waiting = wait_for(
            "fab to wait for the build", lambda: announcements(fake_zulip) or None, timeout=120
        )
        assert "waits for 1 running build(s) to finish" in waiting[0].form["content"]
        assert deployment.image() == f"{images.repository}:{images.commit}"
        gate.touch()
        out, err = updating.communicate(timeout=600)
        assert updating.returncode == 0, f"{out}{err}"
        assert deployment.image() == f"{images.repository}:{images.changed}"
        assert deployment.inspect("{{.Config.Hostname}}") == name
        history = {b["buildid"]: b["results"] for b in master.builds(complete="true")}
        assert history[finished["buildid"]] == SUCCESS
        assert history[running["buildid"]] == SUCCESS
        _, down, back = announcements(fake_zulip)
        bot = base64.b64encode(b"deploy-bot@example.com:zulip-api-key").decode()
        assert down.header("Authorization") == f"Basic {bot}"
        assert {k: down.form[k] for k in ("type", "to", "topic")} == {
            "type": "stream",
            "to": "builds",
            "topic": "deploy",
        }
        assert "goes down for a few minutes" in down.form["content"]
        assert f"now running {images.repository}:{images.changed}" in back.form["content"]
        check_https(settings, pebble)  # the proxy now runs the new image

        # restart --force stops the running build at once (cancelled), and says so.
        master.wait_workers(1)
        deployment.force("slow")
        (running,) = wait_for("the build to run", lambda: master.builds(complete="false") or None)
        done = deployment.fab("restart", "--force")
        assert done.returncode == 0, _output(done)
        assert "the master is back" in done.stdout
        cut_off = master.get(f"builds/{running['buildid']}")["builds"][0]
        assert (cut_off["complete"], cut_off["results"]) == (True, CANCELLED)
        stopped = announcements(fake_zulip)[-1].form["content"]
        assert "stops 1 running build(s), restarting: they end cancelled" in stopped
        deployment.quiesce()

        # update to an image that never comes up: back on the previous one, data intact.
        done = deployment.fab("update", f"--tag={images.broken}")
        assert done.returncode != 0, _output(done)
        assert "rolled back" in done.stderr, _output(done)
        assert "this image is broken" in done.stdout, _output(done)
        assert deployment.image() == f"{images.repository}:{images.changed}"
        history = {b["buildid"]: b["results"] for b in master.builds(complete="true")}
        assert history[finished["buildid"]] == SUCCESS
        failed = announcements(fake_zulip)[-1].form["content"]
        assert f"update of the build master to {images.repository}:{images.broken} failed" in failed
        assert "is back on the previous image" in failed

        # status, logs, announce.
        done = deployment.fab("status")
        assert done.returncode == 0, _output(done)
        assert f"image:     {images.repository}:{images.changed}" in done.stdout
        assert "(running, healthy)" in done.stdout
        assert "builds:    0 running" in done.stdout

        done = deployment.fab("logs", "--no-follow", "--lines=400")
        assert done.returncode == 0, _output(done)
        assert "BuildMaster is running" in done.stdout

        done = deployment.fab("announce", "--message=Deploy finished.")
        assert done.returncode == 0, _output(done)
        assert announcements(fake_zulip)[-1].form["content"] == "Deploy finished."

        # stop: the master and its proxy stay down (no builds run: nothing to wait for).
        done = deployment.fab("stop")
        assert done.returncode == 0, _output(done)
        for container in (name, f"{name}-https"):
            state = run([*docker, "inspect", "--format={{.State.Status}}", container])
            assert state.stdout.strip() == "exited"
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        deployment.remove()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fab_start_can_hand_the_settings_over_as_an_environment_variable(
    tmp_path: Path, repo: GitRepo, docker: list[str], images: Images, ssh_host: SshHost
) -> None:
    settings = _settings(tmp_path, repo, images, docker, [QUICK], settings_via="env")
    deployment = Deployment(tmp_path, settings, ssh_host, docker)
    try:
        done = deployment.fab("start")
        assert done.returncode == 0, _output(done)
        builders = {b["name"] for b in deployment.master.get("builders")["builders"]}
        assert builders == {"quick", JANITOR_NAME}

        env_file = Path(settings["deploy"]["settings_dir"]) / f"{deployment.name}.env"
        assert (env_file.stat().st_uid, oct(env_file.stat().st_mode & 0o777)) == (0, "0o400")
        inspected = json.loads(run([*docker, "inspect", deployment.name]).stdout)[0]
        variables = dict(v.split("=", 1) for v in inspected["Config"]["Env"])
        assert json.loads(variables["BUILDBOT_CONFIG"]) == settings
        assert "BUILDBOT_CONFIG_FILE" not in variables

        done = deployment.fab("start")
        assert done.returncode == 1
        assert (
            f"the container {deployment.name} exists already: use update or restart" in done.stderr
        )
    finally:
        deployment.remove()


def _fab_with_settings(
    tmp_path: Path, settings: dict[str, Any], *arguments: str
) -> subprocess.CompletedProcess[str]:
    """Run fab with a settings file holding ``settings``; ``{config}`` in an argument names it."""
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(settings))
    return subprocess.run(
        [str(FAB), *(a.format(config=config) for a in arguments)],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_update_without_a_host_names_the_way_to_give_one(tmp_path: Path) -> None:
    settings = local_settings("/nonexistent", [QUICK])
    done = _fab_with_settings(tmp_path, settings, "update", "--config-file={config}")
    assert done.returncode == 2
    assert "no host: give one with fab -H user@host or as deploy.host" in done.stderr


def test_announce_without_a_zulip_section_says_so(tmp_path: Path) -> None:
    settings = local_settings("/nonexistent", [QUICK])
    done = _fab_with_settings(
        tmp_path, settings, "announce", "--message=hello", "--config-file={config}"
    )
    assert done.returncode == 1
    assert "no zulip section in the settings: nothing announced" in done.stderr


def test_fab_refuses_an_invalid_settings_file_with_its_one_line_error(tmp_path: Path) -> None:
    settings = local_settings("/nonexistent", [QUICK], deploy={"settings_via": "ftp"})
    done = _fab_with_settings(
        tmp_path, settings, "-H", "nobody@127.0.0.1:1", "update", "--config-file={config}"
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "config: deploy.settings_via: must be one of 'file' or 'env', got \"ftp\""
    ]


def test_build_images_refuses_a_tree_with_uncommitted_changes(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(CHECKOUT), str(clone)])
    (clone / "README.rst").write_text("changed\n")
    done = subprocess.run(
        [str(clone / "build-images"), "--no-push", "--docker=false"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "the tree has uncommitted changes: commit them, or --allow-dirty" in done.stderr
