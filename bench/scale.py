"""Scale: the load suite's size of burst (many pushes over many branches, on more local
workers), with every feature on, so that a cost of the master that grows with the number
of builds or branches shows.

Each branch gets its pushes one after another (a developer pushing fixups), all branches
at once. Pushes of one branch that are still queued are collapsed and running builds of a
superseded commit are cancelled, so fewer builds run than there are pushes: the CPU per
build is per build that ran. Meanwhile the index page is asked every few milliseconds
(as for the janitor's figure); what answering it costs the master, measured on the idle
master just before, is taken out of the CPU per build.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.cluster import WEBHOOK_SECRET, master_cpu_seconds, running, settings
from bench.index_page import GOAL, watching
from bench.report import Row
from tests.harness import SUCCESS, GitRepo, Master, wait_for
from tests.integration.test_webhook import deliver, push_payload, sign
from tests.recording_server import RecordingServer

CANCELLED = 6
"""Buildbot's result of a build stopped because a newer commit superseded it."""
CALIBRATION = 1.0
"""Seconds of index page polling on the idle master, to learn what one answer costs it."""


def _pushes(repo: GitRepo, branches: list[str], each: int) -> dict[str, list[str]]:
    """``each`` commits per branch, one on top of the other, all pushed: each branch's shas
    in the order they are to be pushed."""
    start = repo.git("rev-parse", "HEAD")
    shas: dict[str, list[str]] = {}
    for name in branches:
        repo.branch(name, start)
        shas[name] = [repo.commit({f"{name}.txt": f"{n}\n"}, f"push {n}") for n in range(each)]
    repo.git("checkout", "--quiet", repo.main)
    repo.git("push", "--quiet", "--force", "origin", *branches)
    return shas


def _deliver(repo: GitRepo, master: Master, shas: dict[str, list[str]]) -> None:
    """Each branch's pushes in order, the branches at once."""

    def branch(item: tuple[str, list[str]]) -> list[int]:
        name, commits = item
        bodies = [push_payload(repo, f"refs/heads/{name}", sha) for sha in commits]
        return [deliver(master, body, signature=sign(body, WEBHOOK_SECRET)) for body in bodies]

    with ThreadPoolExecutor(min(len(shas), 16)) as pool:
        statuses = {status for found in pool.map(branch, shas.items()) for status in found}
    if statuses != {200}:
        raise RuntimeError(f"the master refused pushes: {statuses}")


def _settled(master: Master, buildsets: int) -> bool:
    """Whether ``buildsets`` buildsets exist and all are complete (cheap to ask often)."""
    newest = master.get("buildsets", order="-bsid", limit=1)["buildsets"]
    if not newest or newest[0]["bsid"] < buildsets:
        return False
    return not master.get("buildsets", complete="false", limit=1)["buildsets"]


def measure(root: Path, pushes: int, branches: int, workers: int) -> list[Row]:
    """``pushes`` pushes spread evenly over ``branches`` branches, built by ``workers`` local
    workers running ``true``; statuses and summaries go to recording servers."""
    repo = GitRepo(root / "repo")
    repo.commit({"README": "bench\n"}, "initial")
    repo.push()
    warm = _pushes(repo, [f"warm-{n}" for n in range(workers)], 1)
    shas = _pushes(repo, [f"branch-{n}" for n in range(branches)], pushes // branches)
    with (
        RecordingServer(status=201) as github,
        RecordingServer(status=200) as zulip,
        running(
            root / "cluster", settings(repo.url, workers, 0, None, github.url, zulip.url)
        ) as bench,
    ):
        master = bench.master
        _deliver(repo, master, warm)  # each worker clones once
        wait_for("the warm-up builds", lambda: _settled(master, workers), timeout=300)
        cpu = master_cpu_seconds(master)
        with watching(master.url) as answers:
            time.sleep(CALIBRATION)
        per_answer = (master_cpu_seconds(master) - cpu) / max(len(answers), 1)

        cpu = master_cpu_seconds(master)
        with watching(master.url) as answers:
            _deliver(repo, master, shas)
            total = workers + sum(len(commits) for commits in shas.values())
            wait_for("the burst's builds", lambda: _settled(master, total), timeout=1800)
        cpu = master_cpu_seconds(master) - cpu - per_answer * len(answers)
        ran = master.builds(complete="true", order="buildid")[workers:]
        failed = [b for b in ran if b["results"] not in (SUCCESS, CANCELLED)]
        if failed:
            raise RuntimeError(f"{len(failed)} scale build(s) failed")
    label = f"scale: {total - workers} pushes over {branches} branches"
    return [
        Row(f"{label}: builds run", float(len(ran)), "builds", total - workers, "pushes"),
        Row(f"{label}: master CPU per build", cpu / max(len(ran), 1), "s/build"),
        Row(f"{label}: index page's longest wait", max(answers), "s", target=GOAL),
    ]
