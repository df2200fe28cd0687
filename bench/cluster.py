"""What every measurement shares: a running master with local workers, and clocks on it.

Buildbot keeps ``started_at`` and ``complete_at`` in whole seconds, too coarse for the
figures here, so a build's start and end are the moments its ``new`` and ``finished``
events reach the bench over the master's websocket; both come just after Buildbot's
own timestamps, never before.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.events import BuildEvents
from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.harness import GIT_ENV, Master

TRIVIAL_BUILDER = "trivial"
TRIVIAL = [
    {"name": TRIVIAL_BUILDER, "steps": [{"kind": "run", "name": "command", "command": ["true"]}]}
]
WEBHOOK_SECRET = "bench-webhook-secret"


Settings = dict[str, Any]


def _no_statuses(document: Settings) -> None:
    document["github"]["report_status"] = False


def _no_canceller(document: Settings) -> None:
    document["changes"]["cancel_superseded"] = False


def _no_zulip(document: Settings) -> None:
    document.pop("zulip", None)


FEATURES: dict[str, Callable[[Settings], None]] = {
    "GitHub statuses": _no_statuses,
    "the superseded-build canceller": _no_canceller,
    "Zulip summaries": _no_zulip,
}
"""Our features a burst can leave out, by name, each through its own setting, as an
operator would turn it off (bench/features.py)."""


def settings(
    repository: str,
    workers: int,
    tree_stable_timer: float,
    mends: dict[str, Any] | None = None,
    statuses_to: str | None = None,
    zulip_to: str | None = None,
    leave_out: tuple[str, ...] = (),
) -> Settings:
    """A master that takes signed GitHub pushes for ``repository``, on free loopback ports;
    ``mends`` chooses them (``buildmaster.mends`` and ``mends_off``), by default all;
    ``statuses_to``: the GitHub API that takes its commit statuses (default: none sent);
    ``zulip_to``: the Zulip server of its summaries (default: none); ``leave_out``: names
    of ``FEATURES`` turned off."""
    github: dict[str, Any] = {"token": "unused", "webhook_secret": WEBHOOK_SECRET}
    if statuses_to is None:
        github["report_status"] = False
    else:
        github["api_url"] = statuses_to
    document = local_settings(
        repository,
        TRIVIAL,
        changes={"kind": "github"},
        github=github,
        tree_stable_timer=tree_stable_timer,
    )
    document["workers"]["count"] = workers
    document["buildmaster"].update(mends or {"mends": True})
    if zulip_to is not None:
        document["zulip"] = {"site": zulip_to, "bot_email": "bench@example.com", "api_key": "x"}
    for name in leave_out:
        FEATURES[name](document)
    return document


@dataclass(frozen=True)
class Running:
    master: Master
    events: BuildEvents


@contextlib.contextmanager
def running(root: Path, document: dict[str, Any]) -> Iterator[Running]:
    """Start the master and its workers below ``root``; stop them whatever happens."""
    cluster = LocalCluster(root, document, worker_env={"PATH": "/usr/local/bin:/usr/bin:/bin"})
    try:
        cluster.start()
        master = Master(cluster)
        master.wait_workers(document["workers"]["count"])
        events = BuildEvents(master.url)
        try:
            yield Running(master, events)
        finally:
            events.close()
    finally:
        cluster.stop()


def git_env() -> dict[str, str]:
    return {**GIT_ENV, "PATH": "/usr/local/bin:/usr/bin:/bin"}


def last_buildid(master: Master) -> int:
    newest = master.builds(order="-buildid", limit=1)
    return int(newest[0]["buildid"]) if newest else 0


def rss_mb(pid: int) -> float:
    """The resident memory of a process, from ``/proc/<pid>/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def master_rss_mb(master: Master) -> float:
    return rss_mb(master.cluster.processes[0].pid)


def master_cpu_seconds(master: Master) -> float:
    """CPU time the master process has used so far, all threads, from ``/proc``."""
    fields = Path(f"/proc/{master.cluster.processes[0].pid}/stat").read_text().rsplit(")", 1)[1]
    user, system = fields.split()[11:13]
    return (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")
