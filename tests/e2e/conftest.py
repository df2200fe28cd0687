"""Real parts for the deploy tests: dockerd, a registry, the image, an sshd, a fake Zulip.

dockerd is started by ``.ci/run`` (with its own data root, ``DOCKER_HOST`` pointing at its
socket); the rest is started here on free loopback ports and stopped after the session.
The image is built once a session by ``build-images`` (Docker's layer cache makes later
sessions quick) on a base image that ``deploy/make-base-image`` debootstraps once.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Playwright, sync_playwright

from tests.harness import free_port, wait_for
from tests.recording_server import RecordingServer

CHECKOUT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "buildmaster-base:bookworm"


def run(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure the assertion shows its output."""
    done = subprocess.run(command, capture_output=True, text=True, **options)
    assert done.returncode == 0, f"{shlex.join(command)} failed:\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="session")
def docker() -> list[str]:
    """The docker command for the test daemon; without one the deploy tests cannot run."""
    command = [
        "docker",
        *(["--host", os.environ["DOCKER_HOST"]] if "DOCKER_HOST" in os.environ else []),
    ]
    try:
        answer = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=30)
        reason = answer.stderr.strip() if answer.returncode else ""
    except (OSError, subprocess.TimeoutExpired) as exc:
        reason = str(exc)
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"no Docker daemon (.ci/run starts one): {reason}")
        pytest.skip(f"no Docker daemon: {reason}")
    return command


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Docker registry (Debian's docker-registry) on 127.0.0.1; yields host:port."""
    root = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{free_port()}"
    config = root / "config.yml"
    config.write_text(
        json.dumps(
            {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
                "http": {"addr": address},
            }
        )
    )
    with (root / "registry.log").open("w") as log:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=log
        )
    try:
        wait_for("the registry", lambda: _answers(f"http://{address}/v2/"), timeout=30)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@dataclass
class Images:
    """The master's image in the registry under three tags."""

    repository: str
    commit: str  # what build-images tagged: the checkout's commit
    changed: str = "v2"  # the same master, a different image
    broken: str = "broken"  # an image whose master never comes up


@pytest.fixture(scope="session")
def images(docker: list[str], registry: str, tmp_path_factory: pytest.TempPathFactory) -> Images:
    repository = f"{registry}/buildmaster"
    # pytest-xdist workers each have this session fixture: one builds while the others
    # wait, then find the base image made and Docker's layer cache warm.
    lock_file = tmp_path_factory.getbasetemp().parent / "deploy-images.lock"
    with lock_file.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = [str(CHECKOUT / "deploy" / "make-base-image"), f"--docker={shlex.join(docker)}"]
        run([*base, BASE_IMAGE], timeout=1200)
        built = run(
            [
                str(CHECKOUT / "build-images"),
                "--allow-dirty",
                f"--image={repository}",
                f"--base={BASE_IMAGE}",
                f"--docker={shlex.join(docker)}",
            ],
            cwd=CHECKOUT,
            timeout=1200,
        )
    commit = run(["git", "rev-parse", "--short=12", "HEAD"], cwd=CHECKOUT).stdout.strip()
    pushed = re.search(rf"pushed {re.escape(repository)}:(\S+) and ", built.stdout)
    assert pushed and pushed[1] in (commit, f"{commit}-dirty"), built.stdout
    tags = Images(repository, commit=pushed[1])
    derived = {
        tags.changed: 'LABEL test.version="2"',
        tags.broken: 'ENTRYPOINT ["sh", "-c", "echo this image is broken >&2; exit 3"]',
    }
    for tag, line in derived.items():
        dockerfile = f"FROM {repository}:latest\n{line}\n"
        run([*docker, "build", "--tag", f"{repository}:{tag}", "-"], input=dockerfile)
        run([*docker, "push", f"{repository}:{tag}"])
    return tags


@dataclass
class SshHost:
    """A private sshd on 127.0.0.1 that lets this user in with a key of its own."""

    port: int
    key: Path

    @property
    def host(self) -> str:
        return f"{getpass.getuser()}@127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def ssh_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHost]:
    root = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)])
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = free_port()
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\n"
        f"PidFile {root / 'sshd.pid'}\nAuthorizedKeysFile {root / 'authorized_keys'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\n"
        "Subsystem sftp internal-sftp\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    with (root / "sshd.log").open("w") as log:
        process = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stdout=log, stderr=log
        )
    try:
        import socket

        def listening() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", port)) == 0

        wait_for("sshd", listening, timeout=30)
        yield SshHost(port, root / "client_key")
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def fake_zulip() -> Iterator[RecordingServer]:
    """A local Zulip: records what the fabfile posts and answers as Zulip does."""
    with RecordingServer(status=200) as zulip:
        yield zulip


WORKER_IMAGE = "buildbot-docker-worker:test"


@pytest.fixture(scope="session")
def worker_image(docker: list[str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The docker pool's worker image (slave/docker/Dockerfile) on the local base image."""
    lock_file = tmp_path_factory.getbasetemp().parent / "worker-image.lock"
    with lock_file.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = [str(CHECKOUT / "deploy" / "make-base-image"), f"--docker={shlex.join(docker)}"]
        run([*base, BASE_IMAGE], timeout=1200)
        run(
            [
                str(CHECKOUT / "slave" / "docker" / "build"),
                f"--base={BASE_IMAGE}",
                f"--tag={WORKER_IMAGE}",
                f"--docker={shlex.join(docker)}",
            ],
            cwd=CHECKOUT,
            timeout=1200,
        )
    return WORKER_IMAGE


@pytest.fixture
def playwright() -> Iterator[Playwright]:
    """Playwright, driving Debian's chromium (see test_web_ui.py)."""
    with sync_playwright() as driver:
        yield driver
