"""A master and its local workers as real processes on 127.0.0.1.

``make run`` uses this for the embedded default (:mod:`local.run`), and the tests and the
bench use the same :class:`LocalCluster` to start masters from a settings dict, so what
they exercise is what a developer runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import ENV_JSON, LocalPool, Settings, validate, worker_names
from config.workers import tls, userdata
from local.worker import create_worker

CHECKOUT = Path(__file__).resolve().parent.parent
MASTER_CFG = CHECKOUT / "master.cfg"
BIN = Path(sys.executable).parent


def local_pools(settings: Settings) -> list[LocalPool]:
    """The pools whose workers run as processes beside the master."""
    return [pool for pool in settings.workers if isinstance(pool, LocalPool)]


class StartError(RuntimeError):
    """A process did not come up; the message says which and ends with its log's tail."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class LocalCluster:
    """One master and ``workers.count`` workers below ``root``, started and stopped together."""

    root: Path
    settings: dict[str, Any]
    worker_env: Mapping[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def master_dir(self) -> Path:
        return self.root / "master"

    @property
    def url(self) -> str:
        master = self.settings.get("buildmaster", {})
        return f"http://127.0.0.1:{master.get('web_port', 8010)}/"

    def _env(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in (ENV_JSON, "BUILDBOT_CONFIG_FILE")}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def _spawn(self, command: list[str], extra_env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        # Each process leads its own group, so stopping it also stops the commands its
        # builds started; a Ctrl-C in the terminal reaches only us, and we stop them in order.
        process = subprocess.Popen(
            command,
            env=self._env(extra_env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def create(self) -> None:
        """Make the master and worker directories (idempotent)."""
        settings = validate(self.settings)
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.master_dir / "buildbot.tac").exists():
            subprocess.run(
                [
                    str(BIN / "buildbot"),
                    "create-master",
                    "--quiet",
                    "--relocatable",
                    f"--config={MASTER_CFG}",
                    f"--db={settings.buildmaster.db_url}",
                    str(self.master_dir),
                ],
                check=True,
                env=self._env({ENV_JSON: json.dumps(self.settings)}),
            )
        for pool in local_pools(settings):
            for name in worker_names(pool):
                self.create_worker(name, pool.password.get_secret_value(), settings)

    def create_worker(self, name: str, password: str, settings: Settings) -> Path:
        """A worker directory below ``root`` that connects to this master over TLS,
        trusting the master's certificate authority (idempotent): a local pool's worker, or
        a test's stand-in for a static machine."""
        return create_worker(
            self.root / name,
            "127.0.0.1",
            settings.buildmaster.worker_port,
            name,
            password,
            self.master_ca(settings),
            userdata.worker_tac(settings),
        )

    def master_ca(self, settings: Settings) -> str:
        """The authority the master's worker port is verified by (made now if the master
        has not made it yet, as the master would): PEM."""
        return tls.ca_pem(settings, self.master_dir.resolve())

    def start_master(self, timeout: float = 60) -> None:
        """Start the master and wait until its REST API answers."""
        process = self._spawn(
            [str(BIN / "buildbot"), "start", "--nodaemon", str(self.master_dir)],
            {ENV_JSON: json.dumps(self.settings)},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StartError(
                    f"the master exited with {process.returncode}:\n"
                    f"{_tail(self.master_dir / 'twistd.log')}"
                )
            try:
                with urllib.request.urlopen(self.url + "api/v2/builders", timeout=2) as answer:
                    answer.read()
                    return
            except urllib.error.HTTPError as refused:
                if refused.code == 403:  # up, and read by logged-in readers only
                    return
                time.sleep(0.2)
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise StartError(
            f"the master did not answer on {self.url} within {timeout:.0f}s:\n"
            f"{_tail(self.master_dir / 'twistd.log')}"
        )

    def start_workers(self) -> None:
        """Start the local pools' workers, where this master plays the workers' role (EC2
        workers are started by the master itself, static ones by whoever runs them)."""
        settings = validate(self.settings)
        if "workers" in settings.buildmaster.roles:
            for pool in local_pools(settings):
                for name in worker_names(pool):
                    self.start_worker(name)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        return self._spawn(
            [str(BIN / "buildbot-worker"), "start", "--nodaemon", str(self.root / name)],
            self.worker_env,
        )

    def start(self) -> None:
        self.create()
        self.start_master()
        self.start_workers()

    def stop(self, grace: float = 15) -> None:
        """Stop workers then master; whatever has not exited after ``grace`` is killed."""
        for process in reversed(self.processes):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in reversed(self.processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            _signal_group(process, signal.SIGKILL)  # leftovers of its builds
        self.processes.clear()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
