"""Builds on a master with a long history: whether a build's cost grows with the builds
before it.

The builder is given ``history`` finished builds of other branches (written into the
stopped master's database as for the janitor's figure, ``bench/janitor.py``), then a few
pushes of new branches are built with every feature on, as in the burst. A build's cost
should not depend on how many builds came before it: any work that walks the builder's
history (Buildbot's reporters looked for each build's previous successful build of the
same branch, one query per earlier build) shows here as CPU per build far above the
burst's.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.burst import LANES, deliver_all, push_branches
from bench.cluster import TRIVIAL_BUILDER, master_cpu_seconds, running, settings
from bench.janitor import fill
from bench.report import Row
from local.cluster import LocalCluster
from tests.harness import GitRepo, wait_for
from tests.recording_server import RecordingServer

STATUSES = 3
"""Commit statuses per build: pending when requested, when started, when done."""


def _reported(github: RecordingServer, builds: int) -> None:
    """Wait until every status of ``builds`` builds reached GitHub: the reporters' work on
    a build ends after the build."""
    wait_for(
        "the builds' statuses", lambda: len(github.recorded()) >= STATUSES * builds, timeout=1800
    )


def measure(root: Path, history: int, builds: int) -> list[Row]:
    """``builds`` pushes of new branches on ``history`` builds of other branches."""
    repo = GitRepo(root / "repo")
    repo.commit({"README": "bench\n"}, "initial")
    repo.push()
    warm = push_branches(repo, [f"warm-{n}" for n in range(LANES)])
    heads = push_branches(repo, [f"branch-{n}" for n in range(builds)])
    with RecordingServer(status=201) as github, RecordingServer(status=200) as zulip:
        document = settings(repo.url, LANES, 0, None, github.url, zulip.url)
        local = LocalCluster(root / "cluster", document)
        local.start()  # the schema, and the master, builder and worker rows
        local.stop()
        fill(local.master_dir / "state.sqlite", TRIVIAL_BUILDER, history, time.time())
        with running(root / "cluster", document) as bench:
            master, events = bench.master, bench.events
            deliver_all(repo, master, warm)  # each worker clones once
            events.wait(lambda: events.count("finished", 0) >= LANES, timeout=1800)
            _reported(github, LANES)
            cpu = master_cpu_seconds(master)
            deliver_all(repo, master, heads)
            events.wait(lambda: events.count("finished", 0) >= LANES + builds, timeout=1800)
            _reported(github, LANES + builds)
            cpu = master_cpu_seconds(master) - cpu
            ran = master.builds(complete="true", order="-buildid", limit=builds)
            if any(build["results"] != 0 for build in ran):
                raise RuntimeError("a build on the long history failed")
    label = f"after {history} builds of history: master CPU per build"
    return [Row(label, cpu / builds, "s/build")]
