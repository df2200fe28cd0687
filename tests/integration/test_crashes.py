"""Crashes lose nothing: a killed master, a killed worker, a master stopped with work queued.

Buildbot does the recovery itself: a starting master marks the master of its own name
(this directory on this host) stopped in case it crashed, which ends that master's
unfinished builds as RETRY and unclaims their build requests; a worker lost mid-build ends
the build as RETRY and puts its request back in the queue.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from typing import Any

import pytest

from tests.conftest import StartMaster, Summary, local_settings
from tests.harness import RETRY, SUCCESS, GitRepo, Master, wait_for
from tests.integration.test_webhook import SECRET, deliver, push_payload, sign

pytestmark = pytest.mark.slow

SLOW = [{"name": "slow", "steps": [{"kind": "run", "name": "wait", "command": ["sleep", "4"]}]}]


def settings(repo: GitRepo) -> dict[str, Any]:
    """Changes by signed webhook, as in production (a poller's timing stays out of it)."""
    github = {"token": "unused", "webhook_secret": SECRET, "report_status": False}
    return local_settings(repo.url, SLOW, changes={"kind": "github"}, github=github)


def push_branches(repo: GitRepo, master: Master, count: int) -> None:
    for n in range(count):
        repo.branch(f"topic-{n}", "master")
        sha = repo.commit({f"topic-{n}.txt": "x\n"})
        repo.push()
        body = push_payload(repo, f"refs/heads/topic-{n}", sha)
        assert deliver(master, body, signature=sign(body)) == 200


def running(master: Master) -> dict[str, Any]:
    """A build whose ``wait`` step (``sleep`` on the worker) has started."""

    def sleeping() -> dict[str, Any] | None:
        for build in master.builds(complete="false"):
            steps = master.steps(build["buildid"])
            if any(s["name"] == "wait" and s["started_at"] and not s["complete"] for s in steps):
                return build
        return None

    return wait_for("a build in its wait step", sleeping)


def kill(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    os.killpg(process.pid, sig)
    process.wait(timeout=120)


def outcome(master: Master, requests: int) -> tuple[list[dict[str, Any]], Counter[int]]:
    """Once ``requests`` build requests are all done: them, and SUCCESS builds per request."""

    def done() -> list[dict[str, Any]] | None:
        found = master.get("buildrequests")["buildrequests"]
        return found if len(found) >= requests and all(r["complete"] for r in found) else None

    found = wait_for(f"{requests} finished build requests", done, timeout=240)
    successes = Counter(b["buildrequestid"] for b in master.builds() if b["results"] == SUCCESS)
    return found, successes


def check(master: Master, requests: int, summary: Summary, area: str) -> list[dict[str, Any]]:
    """Every request built successfully exactly once; returns every build."""
    found, successes = outcome(master, requests)
    lost = [r for r in found if r["results"] != SUCCESS or successes[r["buildrequestid"]] != 1]
    builds = master.builds()
    summary(area, tries=len(found), refused=0, lost=len(lost))
    assert len(found) == requests
    assert lost == [], (found, builds)
    return builds


def test_master_killed_mid_build_rebuilds_every_request_once(
    repo: GitRepo, start_master: StartMaster, summary: Summary
) -> None:
    master = start_master(settings(repo))
    cluster = master.cluster
    push_branches(repo, master, 2)
    interrupted = running(master)

    kill(cluster.processes[0], signal.SIGKILL)
    cluster.start_master()

    builds = check(master, 2, summary, "master kill -9")
    retried = [b for b in builds if b["buildid"] == interrupted["buildid"]]
    assert [b["results"] for b in retried] == [RETRY]


def test_worker_killed_mid_build_retries_when_a_worker_returns(
    repo: GitRepo, start_master: StartMaster, summary: Summary
) -> None:
    master = start_master(settings(repo))
    cluster = master.cluster
    push_branches(repo, master, 1)
    interrupted = running(master)

    kill(cluster.processes[1], signal.SIGKILL)  # the worker and its build's command
    wait_for(
        "the interrupted build to end",
        lambda: master.get(f"builds/{interrupted['buildid']}")["builds"][0]["complete"],
    )
    assert master.get(f"builds/{interrupted['buildid']}")["builds"][0]["results"] == RETRY
    assert master.get("buildrequests", complete="false")["buildrequests"] != []
    cluster.start_worker("worker-1")

    builds = check(master, 1, summary, "worker kill -9")
    assert sorted(b["results"] for b in builds) == [SUCCESS, RETRY]


def test_builds_queued_at_a_clean_stop_run_after_the_restart(
    repo: GitRepo, start_master: StartMaster, summary: Summary
) -> None:
    master = start_master(settings(repo))
    cluster = master.cluster
    push_branches(repo, master, 3)
    running(master)
    wait_for(
        "queued build requests",
        lambda: len(master.get("buildrequests", claimed="false")["buildrequests"]) >= 2,
    )

    # What `buildbot stop --clean` sends: no new builds start, the running one finishes,
    # then the master stops.
    kill(cluster.processes[0], signal.SIGUSR1)
    cluster.start_master()

    builds = check(master, 3, summary, "master clean stop")
    assert [b["results"] for b in builds] == [SUCCESS] * 3
