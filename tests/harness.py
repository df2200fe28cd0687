"""Real processes for tests: git repositories, a master with its workers, the REST API.

The fixtures in ``tests/conftest.py`` hand these out and always stop what they started.
"""

from __future__ import annotations

import glob
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from buildbot.configurators.janitor import JANITOR_NAME

from local.cluster import LocalCluster

T = TypeVar("T")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}

SUCCESS, WARNINGS, FAILURE, SKIPPED, EXCEPTION, RETRY, CANCELLED = range(7)


# Below the kernel's ephemeral range (32768 and up on Linux), from which every outgoing
# connection takes its local port: a port the kernel picked for us could be taken by a
# connection between a master's stop and its restart on the same port.
PORTS = range(10000, 32768)
_PICK = random.SystemRandom()  # not the seeded generator hypothesis resets


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, outside the ports the
    kernel gives outgoing connections."""
    while True:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", _PICK.choice(PORTS)))
            except OSError:
                continue
            return int(sock.getsockname()[1])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    """Poll ``probe`` until it returns something other than None or False."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


class GitRepo:
    """A bare repository (what the master watches) and a work tree that pushes to it."""

    def __init__(self, root: Path, main: str = "master") -> None:
        self.bare = root / "origin.git"
        self.work = root / "work"
        self.main = main
        root.mkdir(parents=True, exist_ok=True)
        self._git(root, "init", "--quiet", "--bare", f"--initial-branch={main}", str(self.bare))
        self._git(root, "clone", "--quiet", str(self.bare), str(self.work))
        self.git("checkout", "--quiet", "-B", main)

    @classmethod
    def started(cls, root: Path) -> GitRepo:
        """A repository with one commit on master, pushed: what most tests build."""
        repository = cls(root)
        repository.commit({"README": "hello\n"}, "initial")
        repository.push()
        return repository

    @staticmethod
    def _git(cwd: Path, *args: str) -> str:
        env = {**GIT_ENV, "PATH": "/usr/local/bin:/usr/bin:/bin"}
        done = subprocess.run(
            ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    @property
    def url(self) -> str:
        return str(self.bare)

    def git(self, *args: str) -> str:
        return self._git(self.work, *args)

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        """Write ``files`` into the work tree, commit them, and return the new sha."""
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            self.git("add", name)
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str, start: str | None = None) -> None:
        self.git("checkout", "--quiet", "-B", name, *([start] if start else []))

    def push(self, branch: str | None = None) -> None:
        ref = branch or self.git("rev-parse", "--abbrev-ref", "HEAD")
        self.git("push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{ref}")

    def push_commit(
        self, branch: str, files: dict[str, str], message: str = "change", start: str | None = None
    ) -> str:
        """Commit ``files`` on ``branch`` (made from ``start`` if given), push it, return the sha."""
        self.branch(branch, start)
        sha = self.commit(files, message)
        self.push()
        return sha


@dataclass
class Master:
    """A running master, its workers, and a client for its REST API: an anonymous reader,
    or (:meth:`reading_as`) a logged-in one."""

    cluster: LocalCluster
    reader: Session | None = None

    @property
    def url(self) -> str:
        return self.cluster.url

    def reading_as(self, user: str, password: str) -> Master:
        """The same master, read by a logged-in user (a private project needs one)."""
        return Master(self.cluster, self.session(user, password))

    def _open(self, url: str) -> Any:
        if self.reader is not None:
            return self.reader.opener.open(url, timeout=10)
        return urllib.request.urlopen(url, timeout=10)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET ``/api/v2/<path>``."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        with self._open(f"{self.url}api/v2/{path}{'?' + query if query else ''}") as response:
            result: dict[str, Any] = json.load(response)
            return result

    def builder(self, name: str) -> dict[str, Any]:
        """The builder ``name`` (the master also has Buildbot's janitor builder)."""
        return next(b for b in self.get("builders")["builders"] if b["name"] == name)

    def builds(self, **params: Any) -> list[dict[str, Any]]:
        return list(self.get("builds", **params)["builds"])

    def wait_for_builds(self, count: int, timeout: float = 120) -> list[dict[str, Any]]:
        """Wait until ``count`` builds have finished and return them, oldest first."""

        def finished() -> list[dict[str, Any]] | None:
            done = self.builds(complete="true", order="buildid")
            return done if len(done) >= count else None

        return wait_for(f"{count} finished build(s)", finished, timeout)

    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until no build request is waiting and no build is running."""

        def idle() -> bool:
            pending = self.get("buildrequests", complete="false")["buildrequests"]
            running = self.builds(complete="false")
            return not pending and not running

        wait_for("the master to become idle", idle, timeout)

    def wait_workers(self, count: int, timeout: float = 60) -> None:
        def connected() -> bool:
            workers = self.get("workers")["workers"]
            ours = [w for w in workers if w["name"] != JANITOR_NAME]  # Buildbot's, in-master
            return sum(1 for w in ours if w["connected_to"]) >= count

        wait_for(f"{count} connected worker(s)", connected, timeout)

    def steps(self, buildid: int) -> list[dict[str, Any]]:
        return list(self.get(f"builds/{buildid}/steps")["steps"])

    def properties(self, buildid: int) -> dict[str, Any]:
        return {
            k: v[0] for k, v in self.get(f"builds/{buildid}/properties")["properties"][0].items()
        }

    def log(self, buildid: int, step: str, log: str = "stdio") -> str:
        """The text of one step's log."""
        step_number = next(s["number"] for s in self.steps(buildid) if s["name"] == step)
        url = f"{self.url}api/v2/builds/{buildid}/steps/{step_number}/logs/{log}/raw"
        with self._open(url) as response:
            return str(response.read().decode())

    def session(self, user: str, password: str) -> Session:
        """A logged-in client, as the web UI is (REST ignores basic auth outside /auth)."""
        return Session.login(self.url, user, password)


class Session:
    """A REST client holding the session cookie of a login."""

    def __init__(
        self, url: str, opener: urllib.request.OpenerDirector, cookies: CookieJar | None = None
    ) -> None:
        self.url = url
        self.opener = opener
        self.cookies = cookies if cookies is not None else CookieJar()

    def cookie(self) -> str:
        """The session's cookies as a ``Cookie`` header sends them."""
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies)

    @classmethod
    def login(cls, url: str, user: str, password: str) -> Session:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url, user, password)
        cookies = CookieJar()
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(cookies),
            urllib.request.HTTPBasicAuthHandler(passwords),
        )
        with opener.open(f"{url}auth/login", timeout=10):
            pass
        return cls(url, opener, cookies)

    def control(self, path: str, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """POST a JSON-RPC control call; returns the HTTP status and the decoded answer."""
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        request = urllib.request.Request(
            f"{self.url}api/v2/{path}",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def require(program: str, package: str) -> str:
    """The path of ``program``; a test that needs a missing one fails in CI, else is skipped."""
    found = shutil.which(program) or (program if Path(program).is_file() else None)
    if found:
        return found
    reason = f"needs {program} from Debian's {package} package (.ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class Postgres:
    """A PostgreSQL server of Debian's packages in its own data directory on a loopback port."""

    def __init__(self) -> None:
        versions = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2])
        )
        self.bin = Path(
            require(f"{versions[-1]}/pg_ctl" if versions else "pg_ctl", "postgresql")
        ).parent
        # Outside pytest's private temporary tree: when we are root, PostgreSQL (which
        # refuses to run as root) runs as its own user and must reach its directory.
        self.root = Path(tempfile.mkdtemp(prefix="test-postgres-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres")

    def _run(self, program: str, *args: str) -> str:
        """Run one of the server's programs as its user; return what it printed."""
        done = subprocess.run(
            [*self.as_user, str(self.bin / program), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout.strip()

    def _client(self, program: str, *args: str) -> str:
        """Run a client program against the server as its superuser."""
        return self._run(program, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", *args)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust")
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")  # not a pipe: the server outlives pg_ctl
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def query(self, database: str, sql: str) -> str:
        """Run one SQL statement with psql and return its unaligned output."""
        return self._client("psql", "-d", database, "-tA", "-c", sql)

    def create_database(self, name: str) -> str:
        """Create a database and return its SQLAlchemy URL."""
        self._client("createdb", name)
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"


class Crossbar:
    """A crossbar router on a loopback port, the message queue joining several masters."""

    REALM = "buildbot"

    def __init__(self, root: Path) -> None:
        self.program = require(str(Path(".venv-crossbar/bin/crossbar").resolve()), "crossbar")
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        everything = {"call": True, "register": True, "publish": True, "subscribe": True}
        config = {
            "version": 2,
            "controller": {},
            "workers": [
                {
                    "type": "router",
                    "realms": [
                        {
                            "name": self.REALM,
                            "roles": [
                                {
                                    "name": "anonymous",
                                    "permissions": [
                                        {"uri": "", "match": "prefix", "allow": everything}
                                    ],
                                }
                            ],
                        }
                    ],
                    "transports": [
                        {
                            "type": "web",
                            "endpoint": {
                                "type": "tcp",
                                "port": self.port,
                                "interface": "127.0.0.1",
                            },
                            "paths": {"ws": {"type": "websocket"}},
                        }
                    ],
                }
            ],
        }
        (self.root / ".crossbar").mkdir(parents=True, exist_ok=True)
        (self.root / ".crossbar" / "config.json").write_text(json.dumps(config))
        self.process = subprocess.Popen(
            [self.program, "start", "--cbdir", str(self.root / ".crossbar")],
            stdout=(self.root / "crossbar.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def listening() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        wait_for("the crossbar router", listening, timeout=90)

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


# --- AWS: a real moto_server on loopback --------------------------------------------------

MOTO_REGION = "us-west-2"
MOTO_AMIS = Path(__file__).resolve().parent / "moto_amis.json"


@dataclass
class Moto:
    """A ``moto_server`` process on 127.0.0.1 (our AWS), and clients for it."""

    process: subprocess.Popen[bytes]
    url: str

    @classmethod
    def start(cls, log: Path) -> Moto:
        """Start moto_server with the images of ``tests/moto_amis.json`` in every region."""
        port = free_port()
        env = {**os.environ, "MOTO_AMIS_PATH": str(MOTO_AMIS)}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "moto_server"),
                    "-H",
                    "127.0.0.1",
                    "-p",
                    str(port),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        moto = cls(process, f"http://127.0.0.1:{port}")

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"moto_server exited: {log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{moto.url}/moto-api/", timeout=2):
                    return True
            except (urllib.error.URLError, OSError):
                return False

        wait_for("moto_server", answers, timeout=60)
        return moto

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def reset(self) -> None:
        """Forget every resource (images come back from moto_amis.json)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=MOTO_REGION,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
