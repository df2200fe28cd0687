"""Run the build master's container on a host, with Fabric 3.

    fab -H user@host start   --config-file=config.yml
    fab -H user@host update  --config-file=config.yml [--tag=TAG] [--force]
    fab -H user@host stop | restart [--force]
    fab -H user@host status | logs [--no-follow] | announce --message=TEXT

Every task reads the settings file (default ``config.yml``) and validates it as the master
would. The ``deploy`` section says which image, docker command, container and volume to
use; ``deploy.host`` is the host when no ``-H`` is given. The settings reach the container
in a file only root (and the container's user) can read, named by ``BUILDBOT_CONFIG_FILE``;
``deploy.settings_via: env`` passes them as ``BUILDBOT_CONFIG`` instead (visible in
``docker inspect``). ``update``, ``stop`` and ``restart`` let running builds finish
first (the master starts no new ones meanwhile), or with ``--force`` stop them (they end
cancelled) and say so on Zulip. ``update`` announces itself on Zulip (when the
settings have a ``zulip`` section), replaces the container keeping the data volume, and
goes back to the previous image and settings if the new one does not run or does not
become healthy. The container's hostname is fixed (its name), so a new container is the
same master to Buildbot and takes its unfinished builds back at once. With
``deploy.https``, a caddy container of the same image terminates TLS beside it
(``deploy/caddyfile.py``).
"""

from __future__ import annotations

import base64
import io
import json
import shlex
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from fabric import Connection, task
from invoke.context import Context
from invoke.exceptions import Exit

from config.settings import Deploy, Settings, SettingsError, parse, validate
from deploy import caddyfile

# The Dockerfile's USER: the only one besides root that may read the settings file.
CONTAINER_UID = 10001
DATA = "/srv/buildmaster/data"
SETTINGS_IN_CONTAINER = "/etc/buildmaster/settings.json"
TOPIC = "deploy"


@dataclass
class Target:
    """One host's container, as the settings (and the task's options) describe it."""

    connection: Connection
    settings: Settings
    document: dict[str, Any]

    @property
    def deploy(self) -> Deploy:
        return self.settings.deploy

    @property
    def name(self) -> str:
        return self.deploy.container

    def docker(self, *args: str, hide: bool = True, warn: bool = False) -> Any:
        command = shlex.join([*self.deploy.docker, *args])
        return self.connection.run(command, hide=hide, warn=warn, in_stream=False)

    @cached_property
    def is_root(self) -> bool:
        return bool(self.connection.run("id -u", hide=True, in_stream=False).stdout.strip() == "0")

    def as_root(self, command: str) -> Any:
        """Run a shell command as root: directly when we log in as root, else with sudo."""
        if not self.is_root:
            command = f"sudo -n sh -c {shlex.quote(command)}"
        return self.connection.run(command, hide=True, in_stream=False)

    @property
    def settings_file(self) -> str:
        suffix = "env" if self.deploy.settings_via == "env" else "json"
        return f"{self.deploy.settings_dir}/{self.name}.{suffix}"

    def inspect(self, template: str) -> str | None:
        """A field of the container (Go template), or None when there is no container."""
        result = self.docker(
            "inspect", "--type=container", f"--format={template}", self.name, warn=True
        )
        return str(result.stdout.strip()) if result.ok else None


def _load(config_file: str) -> tuple[Settings, dict[str, Any]]:
    """The settings file, validated as the master will; its document as read."""
    path = Path(config_file)
    source = f"settings file {path}"
    try:
        document = parse(path.read_text(encoding="utf-8"), source, yaml_allowed=True)
        return validate(document, source), document
    except OSError as exc:
        raise Exit(f"cannot read {source}: {exc.strerror}", code=2) from None
    except SettingsError as exc:
        raise Exit(str(exc), code=2) from None


def _target(c: Context, config_file: str, docker: str = "") -> Target:
    settings, document = _load(config_file)
    if docker:
        deploy = settings.deploy.model_copy(update={"docker": shlex.split(docker)})
        settings = settings.model_copy(update={"deploy": deploy})
    if isinstance(c, Connection):
        connection = c
    elif settings.deploy.host:
        connection = Connection(settings.deploy.host)
    else:
        raise Exit("no host: give one with fab -H user@host or as deploy.host", code=2)
    return Target(connection, settings, document)


# --- the master's REST API and Zulip, asked from here -----------------------------------


def running_builds(target: Target) -> list[dict[str, Any]]:
    """The builds the master is running now, asked inside its container (its web port
    may listen on loopback only); raises OSError when it does not answer."""
    asked = target.docker("exec", target.name, "python3", "-m", "deploy.running", warn=True)
    if asked.failed:
        raise OSError((asked.stderr or asked.stdout).strip() or "no container")
    return list(json.loads(asked.stdout))


def announce_on_zulip(settings: Settings, message: str, topic: str = TOPIC) -> bool:
    """Post ``message`` to the settings' Zulip stream; False when there is no Zulip section."""
    zulip = settings.zulip
    if zulip is None:
        return False
    credentials = f"{zulip.bot_email}:{zulip.api_key.get_secret_value()}"
    request = urllib.request.Request(
        f"{zulip.site.rstrip('/')}/api/v1/messages",
        data=urllib.parse.urlencode(
            {"type": "stream", "to": zulip.stream, "topic": topic, "content": message}
        ).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        response.read()
    return True


def _tell(target: Target, message: str) -> None:
    """Say it here and on Zulip; a Zulip that does not answer must not stop a deploy."""
    print(message)
    try:
        announce_on_zulip(target.settings, message)
    except OSError as exc:
        print(f"warning: could not announce on Zulip: {exc}")


# --- the container ----------------------------------------------------------------------


def _image(target: Target, tag: str | None) -> str:
    return f"{target.deploy.image}:{tag or target.deploy.tag}"


def _write_settings(target: Target) -> None:
    """Put the settings on the host, readable by root and the container's user only."""
    if target.deploy.settings_via == "env":
        # Read by the docker command (as root), one line: docker's env-file format.
        content = f"BUILDBOT_CONFIG={json.dumps(target.document, separators=(',', ':'))}\n"
        owner = 0
    else:
        content = json.dumps(target.document, indent=2) + "\n"
        owner = CONTAINER_UID
    _install(target, content, target.settings_file, owner)


def _install(target: Target, content: str, path: str, owner: int) -> None:
    """Put a file in the settings directory, readable by ``owner`` (a uid) only."""
    staged = target.connection.run("mktemp", hide=True, in_stream=False).stdout.strip()
    try:
        target.connection.put(io.BytesIO(content.encode()), staged)
        directory = shlex.quote(target.deploy.settings_dir)
        target.as_root(
            f"install -d -m 0700 -o 0 -g 0 {directory} && "
            f"install -m 0400 -o {owner} -g {owner} {shlex.quote(staged)} {shlex.quote(path)}"
        )
    finally:
        target.connection.run(f"rm -f {shlex.quote(staged)}", hide=True, in_stream=False)


def _run(target: Target, image: str) -> str | None:
    """Start the container from ``image`` with the data volume and the settings file;
    None when docker started it, else docker's complaint."""
    deploy, master = target.deploy, target.settings.buildmaster
    options = ["--detach", f"--name={target.name}", "--restart=unless-stopped"]
    # Buildbot names a master by hostname and directory: a fixed hostname makes the new
    # container the same master, which takes back the builds the old one left at once.
    options.append(f"--hostname={target.name}")
    options.append(f"--volume={deploy.volume}:{DATA}")
    if deploy.network:
        options.append(f"--network={deploy.network}")
    if deploy.network != "host":
        # Behind the HTTPS proxy, the web port is reached from the host's loopback only.
        web = "127.0.0.1:" if deploy.https else ""
        options += [f"--publish={web}{master.web_port}:{master.web_port}"]
        options += [f"--publish={master.worker_port}:{master.worker_port}"]
    if deploy.settings_via == "env":
        options.append(f"--env-file={target.settings_file}")
    else:
        options.append(f"--volume={target.settings_file}:{SETTINGS_IN_CONTAINER}:ro")
        options.append(f"--env=BUILDBOT_CONFIG_FILE={SETTINGS_IN_CONTAINER}")
    done = target.docker("run", *options, *deploy.run_options, image, warn=True)
    return None if done.ok else f"docker could not run it: {done.stderr.strip()}"


def _remove(target: Target) -> None:
    target.docker("stop", "--time=60", target.name, warn=True)
    target.docker("rm", "--force", target.name, warn=True)


def _stop(target: Target, force: bool, doing: str) -> None:
    """Stop the master's container once its running builds have finished: Buildbot's
    clean shutdown (SIGUSR1) starts no new build and ends the master when the last one
    ends; requests wait in the database for the next master. With ``force``, stop at once:
    Buildbot stops the running builds on SIGTERM (they end cancelled), and Zulip hears of
    it. ``doing`` says why, as in "updating to IMAGE"."""
    if target.inspect("{{.State.Status}}") != "running":
        return
    url = target.settings.buildmaster.url
    try:
        builds = running_builds(target)
    except OSError as exc:
        if not force:
            raise Exit(
                f"cannot ask the master for running builds ({exc}); --force to go ahead anyway"
            ) from None
        builds = []
    if force or not builds:
        if builds:
            _tell(
                target,
                f"The build master at {url} stops {len(builds)} running build(s), "
                f"{doing}: they end cancelled; rebuild them when it is back.",
            )
        target.docker("stop", "--time=60", target.name)
        return
    _tell(
        target,
        f"The build master at {url} waits for {len(builds)} running build(s) to finish "
        f"before {doing}; it starts no new ones meanwhile.",
    )
    # Ended by the drain, the container must stay down until we replace or start it.
    target.docker("update", "--restart=no", target.name)
    target.docker("kill", "--signal=USR1", target.name)
    deadline = time.monotonic() + target.deploy.drain_timeout
    while target.inspect("{{.State.Status}}") == "running":
        if time.monotonic() > deadline:
            target.docker("update", "--restart=unless-stopped", target.name)
            raise Exit(
                f"builds still running after {target.deploy.drain_timeout:.0f} s; the master "
                "restarts by itself when they end; --force to stop them now"
            )
        time.sleep(2)


# --- the HTTPS proxy --------------------------------------------------------------------


def _proxy_name(target: Target) -> str:
    return f"{target.name}-https"


def _remove_proxy(target: Target) -> None:
    # --volumes: the image's data volume, which the proxy never uses, is made for it anew.
    target.docker("rm", "--force", "--volumes", _proxy_name(target), warn=True)


def _proxy(target: Target, image: str) -> None:
    """Run (or replace, or remove) the caddy container beside the master, with a Caddyfile
    made from the settings; a Caddyfile caddy refuses leaves the running proxy alone."""
    https = target.deploy.https
    if https is None:  # none wanted (any more)
        _remove_proxy(target)
        return
    config_file = f"{target.deploy.settings_dir}/{target.name}.Caddyfile"
    _install(target, caddyfile.render(target.settings), config_file, owner=0)
    options = [f"--volume={config_file}:{caddyfile.CADDYFILE}:ro"]
    options += [f"--volume={host}:{inside}:ro" for inside, host in caddyfile.mounts(https).items()]
    options += [
        f"--volume={target.deploy.volume}-https:{caddyfile.STORAGE}",
        f"--env=XDG_DATA_HOME={caddyfile.STORAGE}/data",
        f"--env=XDG_CONFIG_HOME={caddyfile.STORAGE}/config",
        # Root with nothing but the right to bind ports 80 and 443 (the files it reads are
        # root's, the host's network is where the master's loopback port is).
        "--user=0:0",
        "--cap-drop=ALL",
        "--cap-add=NET_BIND_SERVICE",
        "--security-opt=no-new-privileges",
        "--network=host",
        "--no-healthcheck",
        "--entrypoint=caddy",
    ]
    command = ["--config", caddyfile.CADDYFILE, "--adapter", "caddyfile"]
    checked = target.docker("run", "--rm", *options, image, "validate", *command, warn=True)
    if checked.failed:
        raise Exit(f"caddy refuses the HTTPS proxy's configuration:\n{checked.stderr.strip()}")
    _remove_proxy(target)
    name = [f"--name={_proxy_name(target)}", "--restart=unless-stopped"]
    target.docker("run", "--detach", *name, *options, image, "run", *command)


# docker inspect's view of a container: its state, restarts, and health check result.
_STATE = "{{.State.Status}}|{{.RestartCount}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}"


def _wait_healthy(target: Target, timeout: float | None = None) -> str | None:
    """Wait for the health check to pass; None when it did, else why not (with the log)."""
    deadline = time.monotonic() + (timeout or target.deploy.health_timeout)
    while True:
        state = target.inspect(_STATE)
        if state is None:
            return "the container is gone"
        status, restarts, health = state.split("|")
        if health == "healthy":
            return None
        problem = None
        if status in ("exited", "dead"):
            problem = f"the container {status}"
        elif status == "restarting" or restarts != "0":
            problem = "the container keeps restarting"
        elif health == "unhealthy":
            problem = "the health check failed"
        elif time.monotonic() > deadline:
            problem = "the health check did not pass in time"
        if problem:
            log = target.docker("logs", "--tail=20", target.name, warn=True)
            return f"{problem}; its last output:\n{log.stdout}{log.stderr}".rstrip()
        time.sleep(2)


def _install_docker(target: Target) -> None:
    """A fresh Ubuntu host has no Docker: install Debian's/Ubuntu's docker.io."""
    if target.docker("version", warn=True).ok:
        return
    print("installing docker.io")
    target.as_root(
        "export DEBIAN_FRONTEND=noninteractive && apt-get update -q "
        "&& apt-get install -y -q docker.io && (systemctl enable --now docker || true)"
    )


# --- tasks ------------------------------------------------------------------------------

CONFIG_HELP = {
    "config-file": "the settings file (YAML or JSON); default config.yml",
    "docker": "the docker command on the host, e.g. 'sudo docker' (default: deploy.docker)",
}


@task(help={**CONFIG_HELP, "tag": "the image tag to run (default: deploy.tag)"})
def start(c: Context, config_file: str = "config.yml", tag: str = "", docker: str = "") -> None:
    """Prepare a fresh host (Docker, data volume, settings) and start the master."""
    target = _target(c, config_file, docker)
    _install_docker(target)
    if target.inspect("{{.State.Status}}") is not None:
        raise Exit(f"the container {target.name} exists already: use update or restart")
    image = _image(target, tag)
    target.docker("volume", "create", target.deploy.volume)
    target.docker("pull", image)
    _write_settings(target)
    problem = _run(target, image) or _wait_healthy(target)
    if problem:
        raise Exit(f"{image} did not come up: {problem}")
    _proxy(target, image)
    print(f"the master runs {image} at {target.settings.buildmaster.url}")


FORCE_HELP = "stop running builds at once (they end cancelled) instead of waiting for them"


@task(
    help={
        **CONFIG_HELP,
        "tag": "the image tag to update to (default: deploy.tag)",
        "force": FORCE_HELP,
    }
)
def update(
    c: Context,
    config_file: str = "config.yml",
    tag: str = "",
    force: bool = False,
    docker: str = "",
) -> None:
    """Replace the master's container by a new image, keeping its data; roll back on failure."""
    target = _target(c, config_file, docker)
    image = _image(target, tag)
    url = target.settings.buildmaster.url
    pulled = target.docker("pull", image, warn=True)
    if pulled.failed:
        raise Exit(f"could not pull {image}: {pulled.stderr.strip()}")
    previous = _current_image(target)
    _stop(target, force, f"updating to {image}")
    _tell(target, f"The build master at {url} goes down for a few minutes: updating to {image}.")
    kept = _keep_settings(target)
    _write_settings(target)
    _remove(target)
    problem = _run(target, image) or _wait_healthy(target)
    if problem is None:
        target.as_root(f"rm -f {kept}")
        _proxy(target, image)
        _tell(target, f"The build master at {url} is back, now running {image}.")
        return
    print(problem)
    reason = problem.splitlines()[0]
    if previous is None:
        _tell(target, f"The update of the build master to {image} failed: {reason}.")
        raise Exit("update failed; there was no previous container to go back to")
    target.as_root(f"if [ -e {kept} ]; then mv {kept} {shlex.quote(target.settings_file)}; fi")
    _remove(target)
    again = _run(target, previous) or _wait_healthy(target)
    outcome = "is back on the previous image" if again is None else f"did not come back: {again}"
    _tell(target, f"The update of the build master to {image} failed ({reason}); it {outcome}.")
    raise Exit("update failed; rolled back" if again is None else "update and rollback failed")


def _current_image(target: Target) -> str | None:
    """What the container runs: its image's name while that still names the same image
    (the name reads better in ``status``), else the image's id (the tag has moved)."""
    found = target.inspect("{{.Config.Image}} {{.Image}}")
    if found is None:
        return None
    name, image_id = found.split(" ")
    named = target.docker("image", "inspect", "--format={{.Id}}", name, warn=True)
    return name if named.ok and named.stdout.strip() == image_id else image_id


def _keep_settings(target: Target) -> str:
    """Copy the settings file in use aside, for a rollback; returns the copy's (quoted) path."""
    current = shlex.quote(target.settings_file)
    kept = shlex.quote(target.settings_file + ".previous")
    target.as_root(f"if [ -e {current} ]; then cp -p {current} {kept}; fi")
    return kept


@task(help={**CONFIG_HELP, "force": FORCE_HELP})
def stop(
    c: Context, config_file: str = "config.yml", force: bool = False, docker: str = ""
) -> None:
    """Stop the master (after its running builds) and its HTTPS proxy; start them with restart."""
    target = _target(c, config_file, docker)
    _stop(target, force, "stopping")
    target.docker("update", "--restart=no", target.name, warn=True)
    target.docker("stop", "--time=60", _proxy_name(target), warn=True)
    print(f"the master at {target.settings.buildmaster.url} is stopped")


@task(help={**CONFIG_HELP, "force": FORCE_HELP})
def restart(
    c: Context, config_file: str = "config.yml", force: bool = False, docker: str = ""
) -> None:
    """Restart the master's container (after its running builds) and wait until it is healthy."""
    target = _target(c, config_file, docker)
    _stop(target, force, "restarting")
    target.docker("update", "--restart=unless-stopped", target.name)
    target.docker("start", target.name)
    problem = _wait_healthy(target)
    if problem:
        raise Exit(f"the master did not come back: {problem}")
    target.docker("start", _proxy_name(target), warn=True)
    print(f"the master is back at {target.settings.buildmaster.url}")


@task(
    help={**CONFIG_HELP, "lines": "how many lines of the past to show", "follow": "keep following"}
)
def logs(
    c: Context,
    config_file: str = "config.yml",
    lines: int = 100,
    follow: bool = True,
    docker: str = "",
) -> None:
    """Show (and follow) the master's twistd.log."""
    target = _target(c, config_file, docker)
    tail = ["tail", f"--lines={lines}", *(["--follow=name", "--retry"] if follow else [])]
    target.docker("exec", target.name, *tail, f"{DATA}/master/twistd.log", hide=False)


@task(help=CONFIG_HELP)
def status(c: Context, config_file: str = "config.yml", docker: str = "") -> None:
    """Print the container's image, state, uptime and the builds running now."""
    target = _target(c, config_file, docker)
    state = target.inspect(
        "{{.Config.Image}}|{{.Image}}|{{.State.Status}}|"
        "{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.StartedAt}}"
    )
    if state is None:
        raise Exit(f"no container {target.name} on this host")
    image, image_id, running, health, started = state.split("|")
    print(f"container: {target.name} ({running}{', ' + health if health else ''})")
    print(f"image:     {image} ({image_id})")
    if running == "running":
        since = datetime.fromisoformat(started[:26].rstrip("Z") + "+00:00")
        print(f"uptime:    {str(datetime.now(UTC) - since).split('.')[0]}")
    try:
        builds = running_builds(target)
    except OSError as exc:
        print(f"builds:    the master does not answer ({exc})")
        return
    print(f"builds:    {len(builds)} running")
    for build in builds:
        print(f"  build {build['number']} of builder {build['builderid']}: {build['state_string']}")


@task(
    help={
        "config-file": CONFIG_HELP["config-file"],
        "message": "what to say",
        "topic": "the Zulip topic",
    }
)
def announce(c: Context, message: str, config_file: str = "config.yml", topic: str = TOPIC) -> None:
    """Post a message to the settings' Zulip stream."""
    settings, _ = _load(config_file)
    try:
        sent = announce_on_zulip(settings, message, topic)
    except OSError as exc:
        raise Exit(f"Zulip did not take the message: {exc}") from None
    if not sent:
        raise Exit("no zulip section in the settings: nothing announced")
    print(f"announced: {message}")
