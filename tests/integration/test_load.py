"""Load: 200 signed pushes over 50 branches with 2 workers; every branch's newest commit builds.

Each branch gets its four pushes in a burst (as a developer pushing fixups does), each a
real ``git push`` followed by its signed GitHub delivery; builds run while later
branches are still being pushed. The tree-stable timer and Buildbot's collapsing of queued requests merge
pushes of one branch; what must hold is that every change ends up in a successful build
of its branch's newest commit, and that the REST API answers every poll within a second
all along (latencies printed).
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections import Counter

import pytest

from tests.conftest import StartMaster, Summary, local_settings
from tests.harness import SUCCESS, GitRepo, Master, wait_for
from tests.integration.test_webhook import SECRET, deliver, push_payload, sign

pytestmark = [pytest.mark.slow, pytest.mark.alone, pytest.mark.timeout(900)]

PUSHES, BRANCHES, TIMER = 200, 50, 3
CHECKS = [{"name": "checks", "steps": [{"kind": "run", "name": "check", "command": ["true"]}]}]


class Poller(threading.Thread):
    """Asks the REST API for the newest builds every half second; keeps each latency."""

    def __init__(self, master: Master) -> None:
        super().__init__(daemon=True)
        self.url = f"{master.url}api/v2/builds?order=-buildid&limit=20"
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as answer:
                    answer.read()
            except OSError as exc:
                self.failures.append(repr(exc))
            self.latencies.append(time.monotonic() - started)


@pytest.fixture
def master(repo: GitRepo, start_master: StartMaster) -> Master:
    github = {"token": "unused", "webhook_secret": SECRET, "report_status": False}
    settings = local_settings(
        repo.url,
        CHECKS,
        changes={"kind": "github"},
        github=github,
        workers={"count": 2},
        tree_stable_timer=TIMER,
    )
    return start_master(settings)


def test_many_pushes_build_each_branch_newest_commit(
    repo: GitRepo, master: Master, summary: Summary
) -> None:
    poller = Poller(master)
    poller.start()
    newest: dict[str, str] = {}
    started = time.monotonic()
    try:
        for n in range(PUSHES):
            branch = f"load-{n * BRANCHES // PUSHES}"
            repo.branch(branch, newest.get(branch, "master"))
            sha = repo.commit({f"{branch}.txt": f"{n}\n"}, f"push {n}")
            repo.push(branch)
            body = push_payload(repo, f"refs/heads/{branch}", sha)
            assert deliver(master, body, signature=sign(body)) == 200
            newest[branch] = sha
        pushing = time.monotonic() - started

        changes = wait_for(
            f"{PUSHES} changes",
            lambda: found if len(found := master.get("changes")["changes"]) >= PUSHES else None,
        )
        master.wait_for_builds(BRANCHES, timeout=600)
        time.sleep(TIMER + 1)  # the last branch's timer has fired: its request is queued
        master.wait_idle(timeout=600)
    finally:
        poller.done.set()
        poller.join(timeout=30)

    builds = master.builds()
    built = {master.properties(b["buildid"])["got_revision"]: b["results"] for b in builds}
    lost = [c for c in changes if built.get(newest[c["branch"]]) != SUCCESS]
    requests = Counter(r["results"] for r in master.get("buildrequests")["buildrequests"])
    latencies = sorted(poller.latencies)
    print(
        f"\nload: {PUSHES} pushes over {BRANCHES} branches in {pushing:.0f}s, "
        f"{len(builds)} builds, requests by result {dict(requests)}; REST polls: "
        f"{len(latencies)}, median {latencies[len(latencies) // 2]:.3f}s, "
        f"max {latencies[-1]:.3f}s"
    )
    summary("load", tries=len(changes), refused=0, lost=len(lost))

    assert len(changes) == PUSHES
    assert lost == []
    assert {c["branch"] for c in changes} == set(newest)
    assert all(results == SUCCESS for results in built.values())
    assert poller.failures == []
    assert latencies[-1] < 1.0, f"the REST API took {latencies[-1]:.2f}s to answer"
