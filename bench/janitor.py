"""The nightly janitor on a year of history, and whether the master keeps answering.

A master's SQLite database is filled with ``builds`` builds spread over the past year,
each with its steps, their logs and log chunks (about what a busy team's year leaves
behind); then Buildbot's janitor is forced, as its nightly run would start, and the web
UI's index page is asked every few milliseconds until the janitor's build has finished.
The figures: how many log chunks it deleted (those older than ``results.log_keep_days``),
how long its build took, and the longest the index page went unanswered meanwhile (goal:
at most 0.1 s).

The history is written straight into the database while the master is stopped, with
Buildbot's own table definitions (``buildbot.db.model``): building 20,000 builds through
the master would take hours.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from buildbot.configurators.janitor import JANITOR_NAME
from buildbot.db.model import Model

from bench import cluster
from bench.index_page import GOAL, watching
from bench.report import Row
from local.cluster import LocalCluster
from tests.harness import Master, wait_for

YEAR = 365 * 86400
STEPS = ("git", "merge-forward", "lint", "tests", "docs")
CHUNKS_PER_LOG = 2
CHUNK = ("collected 120 items ... PASSED [ 42%]\n" * 6).encode()


def rows_of(table: str, values: list[tuple[Any, ...]]) -> tuple[str, list[tuple[Any, ...]]]:
    """An INSERT of every column of Buildbot's ``table``, in its model's order."""
    columns = [c.name for c in Model.metadata.tables[table].columns]
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values


def fill(database: Path, builder: str, builds: int, now: float) -> None:
    """``builds`` finished builds of ``builder``, oldest a year ago, with steps and logs."""
    db = sqlite3.connect(database)
    try:
        (builderid,) = db.execute("SELECT id FROM builders WHERE name = ?", (builder,)).fetchone()
        (masterid,) = db.execute("SELECT id FROM masters").fetchone()
        (workerid,) = db.execute(
            "SELECT id FROM workers WHERE name != ?", (JANITOR_NAME,)
        ).fetchone()
        first = int(now - YEAR)
        spacing = YEAR // max(builds, 1)
        buildsets, requests, done, steps, logs, chunks = [], [], [], [], [], []
        for n in range(1, builds + 1):
            at = first + n * spacing
            buildsets.append((n, None, "push", at, 1, at + 60, 0, None, None, None))
            requests.append((n, n, builderid, 0, 1, 0, at, at + 60, 0))
            done.append(
                (n, n, builderid, n, workerid, masterid, at, at + 60, 0, "build successful", 0)
            )
            for s, name in enumerate(STEPS):
                stepid = (n - 1) * len(STEPS) + s + 1
                steps.append((stepid, s, name, n, at + s, at + s, at + s + 1, name, 0, "[]", 0))
                logs.append((stepid, "stdio", "stdio", stepid, 1, 6 * CHUNKS_PER_LOG, "s"))
                for c in range(CHUNKS_PER_LOG):
                    chunks.append((stepid, 6 * c, 6 * c + 5, CHUNK, 0))
        for table, values in (
            ("buildsets", buildsets),
            ("buildrequests", requests),
            ("builds", done),
            ("steps", steps),
            ("logs", logs),
            ("logchunks", chunks),
        ):
            db.executemany(*rows_of(table, values))
        db.commit()
    finally:
        db.close()


def measure(root: Path, builds: int) -> list[Row]:
    """Janitor duration and the index page's longest wait on ``builds`` builds of history."""
    repository = root / "repo.git"
    repository.mkdir(parents=True)
    document = cluster.settings(str(repository), workers=1, tree_stable_timer=1)
    local = LocalCluster(root / "cluster", document)
    local.start()  # the schema, and the master, builder and worker rows
    local.stop()
    fill(local.master_dir / "state.sqlite", cluster.TRIVIAL_BUILDER, builds, time.time())
    try:
        local.start()
        master = Master(local)
        janitor = master.builder(JANITOR_NAME)
        admin = master.session("admin", "admin-pw")
        with watching(master.url) as answers:
            forced = time.monotonic()
            status, _ = admin.control(
                f"forceschedulers/{JANITOR_NAME}_force", "force", builderid=janitor["builderid"]
            )
            assert status == 200, f"forcing the janitor answered {status}"
            wait_for(
                "the janitor's build",
                lambda: master.builds(builderid=janitor["builderid"], complete="true") or None,
                timeout=1800,
            )
            took = time.monotonic() - forced
        [build] = master.builds(builderid=janitor["builderid"])
        assert build["results"] == 0, f"the janitor's build ended with {build['results']}"
        deleted = next(
            int(step["state_string"].split()[1])
            for step in master.steps(build["buildid"])
            if step["state_string"].endswith(" logchunks")
        )
    finally:
        local.stop()
    label = f"janitor on {builds} builds of history"
    return [
        Row(f"{label}: log chunks deleted", float(deleted), "chunks"),
        Row(f"{label}: duration", took, "s"),
        Row(f"{label}: index page's longest wait", max(answers), "s", target=GOAL),
    ]
