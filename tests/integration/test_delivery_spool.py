"""No delivery lost, none built twice: the webhook's spool and delivery ids on a real master.

A delivery is answered only once it is on disk: here it is answered 202 while another
process locks the database (so its changes cannot be stored), the master is killed with
SIGKILL right after the answer, and the delivery still builds, once, after the restart; a
redelivery of the same ``X-GitHub-Delivery`` id, or of the same signed body under another
id or none, builds nothing. A same-repository pull
request whose head the master never saw pushed is built when it is opened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.harness import SUCCESS, GitRepo, Master, wait_for
from tests.integration.test_database_lock import HOLD_LOCK
from tests.integration.test_pull_requests import CHECKS, commit_known, pull_request, settle
from tests.integration.test_webhook import SECRET, answer, push_payload, sign
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

Setup = tuple[Master, GitRepo, RecordingServer]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """One master taking deliveries, its repository, and the GitHub API it calls."""
    root = tmp_path_factory.mktemp("spool")
    repo = GitRepo.started(root / "repo")
    with RecordingServer(status=201) as github:
        document = local_settings(
            repo.url,
            CHECKS,
            changes={"kind": "github"},
            github={"token": "gh-token", "webhook_secret": SECRET, "api_url": github.url},
        )
        cluster = LocalCluster(root / "cluster", document)
        try:
            cluster.start()
            master = Master(cluster)
            master.wait_workers(1)
            yield master, repo, github
        finally:
            cluster.stop()


def spooled(master: Master) -> list[str]:
    return sorted(path.name for path in (master.cluster.master_dir / "webhook-spool").iterdir())


def builds_of(master: Master, sha: str) -> list[dict[str, Any]]:
    """The builds of the commit ``sha``, through its changes."""
    found = {}
    for change in master.get("changes", revision=sha)["changes"]:
        for build in master.get(f"changes/{change['changeid']}/builds")["builds"]:
            found[build["buildid"]] = build
    return list(found.values())


def finished_builds_of(master: Master, sha: str) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        builds = builds_of(master, sha)
        return builds if builds and all(b["complete"] for b in builds) else None

    return wait_for(f"the builds of {sha[:12]}", done, timeout=120)


def lock_database(master: Master) -> subprocess.Popen[str]:
    """Another process holding an exclusive lock on the master's SQLite database."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(master.cluster.master_dir / "state.sqlite"), "120"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def test_a_delivery_answered_before_a_kill_builds_once_after_the_restart(setup: Setup) -> None:
    master, repo, _ = setup
    cluster = master.cluster
    sha = repo.push_commit("kept", {"kept.txt": "k\n"})
    body = push_payload(repo, "refs/heads/kept", sha)
    delivery = str(uuid.uuid4())

    holder = lock_database(master)
    try:
        status, said = answer(master, body, signature=sign(body), delivery=delivery)
        # Answered while its changes could not be stored: it is on disk, and nowhere else.
        assert (status, said.splitlines()[0]) == (
            202,
            "accepted; kept in the spool, its changes are stored once the database answers",
        )
        [kept] = spooled(master)
        assert delivery in kept
        spool = master.cluster.master_dir / "webhook-spool"
        assert spool.stat().st_mode & 0o077 == 0  # the master's alone
        # Redelivered while the first still waits: kept once.
        status, said = answer(master, body, signature=sign(body), delivery=delivery)
        assert status == 200 and f"delivery {delivery} already received" in said, said
        assert spooled(master) == [kept]
        os.killpg(cluster.processes[0].pid, signal.SIGKILL)
        cluster.processes[0].wait(timeout=60)
    finally:
        holder.kill()
        holder.wait()
    cluster.start_master()

    [build] = finished_builds_of(master, sha)
    assert build["results"] == SUCCESS
    assert master.properties(build["buildid"])["got_revision"] == sha
    wait_for("the spool to empty", lambda: spooled(master) == [])

    # GitHub's "Redeliver": the same id again builds nothing; nor does a copy of the signed
    # body sent under an id of the sender's choosing (the header is not signed).
    for again in (delivery, str(uuid.uuid4()), ""):
        status, said = answer(master, body, signature=sign(body), delivery=again)
        assert status == 200 and "already received" in said, said
    settle()
    assert len(builds_of(master, sha)) == 1
    assert len(master.get("changes", revision=sha)["changes"]) == 1
    assert spooled(master) == []


def test_a_pull_request_whose_head_was_never_pushed_to_the_master_builds(setup: Setup) -> None:
    master, repo, github = setup
    sha = repo.push_commit("unseen", {"unseen.txt": "u\n"})  # no push delivery for it
    commit_known(github, repo, sha, "unseen")
    own: dict[str, Any] = {"fork": False, "association": "MEMBER", "head_ref": "unseen"}
    body = pull_request(repo, "opened", 21, sha, **own)

    status, said = answer(master, body, event="pull_request", signature=sign(body))
    assert status == 200 and f"opened: building {sha[:12]}" in said, said
    [build] = finished_builds_of(master, sha)
    assert build["results"] == SUCCESS
    props = master.properties(build["buildid"])
    assert (props["branch"], props["pull_request"], props["got_revision"]) == ("unseen", 21, sha)

    # Its head has a build now: reopening it builds nothing more.
    body = pull_request(repo, "reopened", 21, sha, **own)
    status, said = answer(master, body, event="pull_request", signature=sign(body))
    assert status == 200 and "its pushes built it already" in said, said
    settle()
    assert len(builds_of(master, sha)) == 1
