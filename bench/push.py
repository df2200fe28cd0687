"""Push to build start: a signed GitHub push delivery until its build has started, and
until the GitHub API has its ``pending`` status (a recording server stands in for it)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.cluster import WEBHOOK_SECRET, last_buildid, master_rss_mb, running, settings
from bench.report import Row
from tests.harness import GitRepo, Master, wait_for
from tests.integration.test_webhook import deliver, push_payload, sign
from tests.recording_server import RecordingServer

TIMER = 1.0


def _push(repo: GitRepo, master: Master, number: int) -> tuple[int, float, str]:
    """Commit and push to ``feature``, deliver the push; returns the last build id before,
    when the delivery was sent, and the pushed commit."""
    sha = repo.commit({"change.txt": f"{number}\n"}, f"change {number}")
    repo.push()
    body = push_payload(repo, "refs/heads/feature", sha)
    before = last_buildid(master)
    sent = time.monotonic()
    if deliver(master, body, signature=sign(body, WEBHOOK_SECRET)) != 200:
        raise RuntimeError("the master refused a signed push")
    return before, sent, sha


def _pending_at(github: RecordingServer, sha: str) -> float:
    """When the GitHub API received the first ``pending`` status of ``sha``."""

    def arrived() -> float | None:
        return next(
            (
                r.at
                for r in github.recorded()
                if r.path.endswith(f"/statuses/{sha}") and r.body["state"] == "pending"
            ),
            None,
        )

    return wait_for(f"the pending status of {sha}", arrived)


def measure(
    root: Path, pushes: int, minimal_rss: float, mends: dict[str, Any] | None = None
) -> list[Row]:
    """``pushes`` pushes one after another to a warm worker; the idle master's memory
    (against ``minimal_rss``, a minimal Buildbot master's). ``mends`` as for the settings."""
    repo = GitRepo(root / "repo")
    repo.commit({"README": "bench\n"}, "initial")
    repo.push()
    repo.branch("feature")
    with (
        RecordingServer(status=201) as github,
        running(root / "cluster", settings(repo.url, 1, TIMER, mends, github.url)) as bench,
    ):
        master, events = bench.master, bench.events
        before, _, _ = _push(repo, master, 0)  # warms the worker: it clones once
        events.first("finished", before)
        master.wait_idle()
        time.sleep(2)
        idle_rss = master_rss_mb(master)

        delays, pending = [], []
        for number in range(1, pushes + 1):
            before, sent, sha = _push(repo, master, number)
            delays.append(events.first("new", before).at - sent - TIMER)
            pending.append(_pending_at(github, sha) - sent - TIMER)
            events.first("finished", before)
            master.wait_idle()
    return [
        Row(
            "push to pending status, median",
            statistics.median(pending),
            "s",
            TIMER,
            "tree_stable_timer",
            "<= 0.1 s over the timer",
        ),
        Row(
            "push to build start, median",
            statistics.median(delays),
            "s",
            TIMER,
            "tree_stable_timer",
            "<= 0.5 s over the timer",
        ),
        Row("push to build start, max", max(delays), "s", TIMER, "tree_stable_timer"),
        Row("master RSS idle", idle_rss, "MB", minimal_rss, "minimal master", "<= 150 MB"),
    ]
