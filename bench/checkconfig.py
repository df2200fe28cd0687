"""Config load (``buildbot checkconfig`` on config.yml.example) and the idle master's
memory, each against a minimal Buildbot master (one worker, one builder, the web UI)."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.cluster import rss_mb
from bench.report import Row
from local.cluster import BIN, CHECKOUT, MASTER_CFG
from tests.harness import free_port, wait_for

EXAMPLE = CHECKOUT / "config.yml.example"
MINIMAL = """\
from buildbot.plugins import schedulers, steps, util, worker

BuildmasterConfig = {{
    "workers": [worker.Worker("worker", "password")],
    "protocols": {{"pb": {{"port": "tcp:{worker_port}:interface=127.0.0.1"}}}},
    "schedulers": [schedulers.ForceScheduler(name="force", builderNames=["builder"])],
    "builders": [
        util.BuilderConfig(
            name="builder",
            workernames=["worker"],
            factory=util.BuildFactory([steps.ShellCommand(command=["true"])]),
        )
    ],
    "db": {{"db_url": "sqlite:///state.sqlite"}},
    "www": {{"port": "tcp:{web_port}:interface=127.0.0.1"}},
    "buildbotNetUsageData": None,
}}
"""


def _environment(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BUILDBOT_CONFIG")}
    return {**clean, **extra}


def _create(directory: Path, config: Path | None, web_port: int = 0) -> Path:
    """A master directory: ours (``config`` is master.cfg) or the minimal one."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(BIN / "buildbot"),
            "create-master",
            "--quiet",
            *([f"--config={config}"] if config else []),
            str(directory),
        ],
        check=True,
        env=_environment(),
    )
    if config is None:
        minimal = MINIMAL.format(worker_port=free_port(), web_port=web_port or free_port())
        (directory / "master.cfg").write_text(minimal)
    return directory


def _checkconfig(directory: Path, runs: int, **env: str) -> float:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        done = subprocess.run(
            [str(BIN / "buildbot"), "checkconfig", str(directory)],
            env=_environment(**env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        times.append(time.monotonic() - started)
        if done.returncode != 0:
            raise RuntimeError(f"checkconfig failed: {done.stderr.strip()}")
    return statistics.median(times)


def minimal_idle_rss(root: Path) -> float:
    """Resident memory of the minimal master once it is up and idle."""
    port = free_port()
    directory = _create(root / "minimal-running", None, web_port=port)
    master = subprocess.Popen(
        [str(BIN / "buildbot"), "start", "--nodaemon", str(directory)],
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/builders", timeout=2):
                    return True
            except OSError:
                return False

        wait_for("the minimal master", answers, timeout=120)
        time.sleep(2)
        return rss_mb(master.pid)
    finally:
        os.killpg(master.pid, signal.SIGTERM)
        master.wait(timeout=30)


def measure(root: Path, runs: int) -> list[Row]:
    ours = _create(root / "ours", MASTER_CFG)
    minimal = _create(root / "minimal", None)
    example = _checkconfig(ours, runs, BUILDBOT_CONFIG_FILE=str(EXAMPLE))
    baseline = _checkconfig(minimal, runs)
    return [
        Row(
            "checkconfig config.yml.example",
            example,
            "s",
            baseline,
            "minimal master.cfg",
            "<= 2 s",
        )
    ]
