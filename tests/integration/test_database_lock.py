"""A master whose SQLite database another process locks keeps answering.

A backup tool or the ``sqlite3`` shell can hold an exclusive lock on ``state.sqlite`` for
a while. Buildbot's queries run in its database thread, never the reactor's, so only the
work that needs the database waits: the web UI's index page and the health check answer
throughout, a push delivered meanwhile is answered 202 within GitHub's 10 s (the hook
keeps it in its spool and answers without waiting for the database past
``ANSWER_WITHIN``), and its change is stored and built once the lock is released. Nothing
is lost.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

import pytest

from config.github.webhook import LATE
from config.settings import validate
from deploy.health import url as health_url
from tests.conftest import StartMaster, local_settings
from tests.harness import GitRepo
from tests.integration.test_webhook import CHECKS, SECRET, answer, push_payload, sign

LOCKED_FOR = 15.0
HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("begin exclusive")
db.execute("insert into masters (name, name_hash, active, last_active)"
           " values ('lock-holder', 'lock-holder', 0, 0)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("rollback")
"""


def answer_seconds(address: str) -> float:
    """How long ``address`` took to answer, failing past a second."""
    started = time.monotonic()
    with urllib.request.urlopen(address, timeout=1) as response:
        response.read()
    return time.monotonic() - started


@pytest.mark.slow
def test_master_answers_while_another_process_locks_its_database(
    repo: GitRepo, start_master: StartMaster
) -> None:
    github = {"token": "unused", "webhook_secret": SECRET, "report_status": False}
    settings = local_settings(repo.url, CHECKS, changes={"kind": "github"}, github=github)
    master = start_master(settings)
    pages = {"index page": master.url, "health check": health_url(validate(settings))}
    repo.branch("feature")
    sha = repo.commit({"x.txt": "x\n"})
    repo.push()
    body = push_payload(repo, "refs/heads/feature", sha)

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD_LOCK,
            str(master.cluster.master_dir / "state.sqlite"),
            str(LOCKED_FOR),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        locked_at = time.monotonic()
        delivery: dict[str, Any] = {}

        def push() -> None:
            started = time.monotonic()
            # GitHub's limit: deliver() gives up after 10 s, as GitHub does.
            delivery["answer"] = answer(master, body, signature=sign(body))
            delivery["seconds"] = time.monotonic() - started

        pusher = threading.Thread(target=push)
        time.sleep(1)
        pusher.start()
        slowest = dict.fromkeys(pages, 0.0)
        while time.monotonic() - locked_at < LOCKED_FOR:
            for name, address in pages.items():
                slowest[name] = max(slowest[name], answer_seconds(address))
            time.sleep(0.2)
        assert holder.wait(timeout=30) == 0
        pusher.join(timeout=60)
    finally:
        holder.kill()
        holder.wait()

    assert all(seconds < 1 for seconds in slowest.values()), slowest
    status, text = delivery["answer"]
    assert status == 202, delivery
    assert LATE in text, text
    [build] = master.wait_for_builds(1, timeout=120)
    assert build["results"] == 0
    changes = master.get(f"builds/{build['buildid']}/changes")["changes"]
    assert [change["revision"] for change in changes] == [sha]
