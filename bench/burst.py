"""Burst: many branches pushed at once, built by two local workers, against a shell script
doing the same git commands and command with the same parallelism."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.cluster import (
    WEBHOOK_SECRET,
    git_env,
    master_cpu_seconds,
    master_rss_mb,
    running,
    settings,
)
from bench.profile import Profile, sampled
from bench.report import Row
from tests.harness import GitRepo, Master
from tests.integration.test_metrics import scrape
from tests.integration.test_webhook import deliver, push_payload, sign
from tests.recording_server import RecordingServer

LANES = 2
SCRIPT = Path(__file__).resolve().parent / "shell_build.sh"


def push_branches(repo: GitRepo, names: list[str]) -> dict[str, str]:
    """One commit per branch on top of master, then master moves on: every build merges."""
    start = repo.git("rev-parse", "HEAD")
    heads = {}
    for name in names:
        repo.git("checkout", "--quiet", "-B", name, start)
        heads[name] = repo.commit({f"{name}.txt": f"{name}\n"}, f"work on {name}")
    repo.git("checkout", "--quiet", repo.main)
    repo.commit({"master.txt": f"moved on after {names[0]}\n"}, "master moves on")
    repo.git("push", "--quiet", "--force", "origin", repo.main, *names)
    return heads


def deliver_all(repo: GitRepo, master: Master, heads: dict[str, str]) -> None:
    def one(item: tuple[str, str]) -> int:
        body = push_payload(repo, f"refs/heads/{item[0]}", item[1])
        return deliver(master, body, signature=sign(body, WEBHOOK_SECRET))

    with ThreadPoolExecutor(len(heads)) as pool:
        statuses = list(pool.map(one, heads.items()))
    if set(statuses) != {200}:
        raise RuntimeError(f"the master refused pushes: {statuses}")


def _shell(root: Path, repo: GitRepo, names: list[str]) -> float:
    """Wall time of the shell baseline, its lanes warmed first as the workers are."""
    lanes = [root / f"lane-{n}" for n in range(LANES)]
    for lane in lanes:
        subprocess.run(["git", "clone", "--quiet", repo.url, str(lane)], check=True, env=git_env())
    started = time.monotonic()
    running_lanes = [
        subprocess.Popen([str(SCRIPT), str(lane), repo.url, *names[n::LANES]], env=git_env())
        for n, lane in enumerate(lanes)
    ]
    if any(lane.wait() != 0 for lane in running_lanes):
        raise RuntimeError("the shell baseline failed")
    return time.monotonic() - started


def statements(master: Master) -> float:
    """The SQL statements the master has sent to its database so far (``/metrics``; the
    scrape's own reads among them)."""
    return scrape(master, login=None)["buildbot_database_statements_total{}"]


SHOWN_SHARE = 0.02
"""Parts of the master with a smaller share of its CPU are summed in one row."""


def _attribution(profile: Profile, cpu_per_build: float) -> list[Row]:
    """The master's CPU per build, shared out among its parts by the profile's samples."""
    shares = profile.shares()
    shown = {name: share for name, share in shares.items() if share >= SHOWN_SHARE}
    rest = 1 - sum(shown.values())
    rows = [
        Row(f"burst: CPU per build in {name}", share * cpu_per_build, "s/build")
        for name, share in shown.items()
    ]
    if shares and rest > 0:
        rows.append(Row("burst: CPU per build in the rest", rest * cpu_per_build, "s/build"))
    return rows


def measure(
    root: Path,
    builds: int,
    mends: dict[str, Any] | None = None,
    profile: bool = False,
    leave_out: tuple[str, ...] = (),
) -> list[Row]:
    """A burst of ``builds`` pushes with every feature on but those named in ``leave_out``
    (``bench.cluster.FEATURES``), statuses and summaries sent to recording servers;
    ``mends`` as for the settings; ``profile``: where the master's CPU went, by part
    (bench/profile.py), from a second burst of as many pushes, profiled, after the one
    measured."""
    repo = GitRepo(root / "repo")
    repo.commit({"README": "bench\n"}, "initial")
    repo.push()
    warm = push_branches(repo, [f"warm-{n}" for n in range(LANES)])
    names = [f"branch-{n}" for n in range(builds)]
    heads = push_branches(repo, names)
    with (
        RecordingServer(status=201) as github,
        RecordingServer(status=200) as zulip,
        running(
            root / "cluster",
            settings(repo.url, LANES, 0, mends, github.url, zulip.url, leave_out),
        ) as bench,
    ):
        master, events = bench.master, bench.events
        deliver_all(repo, master, warm)  # each worker clones once
        events.wait(lambda: events.count("finished", 0) >= LANES)
        master.wait_idle()
        idle_rss = master_rss_mb(master)

        sent = statements(master)
        per_scrape = statements(master) - sent
        sent += per_scrape
        cpu = master_cpu_seconds(master)
        started = time.monotonic()
        deliver_all(repo, master, heads)
        events.wait(lambda: events.count("finished", 0) >= LANES + builds, timeout=900)
        wall = max(e.at for e in events.events if e.kind == "finished") - started
        cpu = master_cpu_seconds(master) - cpu
        master.wait_idle()  # the last build's reporters and log compression are its work too
        sent = statements(master) - per_scrape - sent
        end_rss = master_rss_mb(master)
        samples = Profile()
        if profile:  # a burst of its own: the profiler's pauses and CPU stay out of the rest
            again = push_branches(repo, [f"profiled-{n}" for n in range(builds)])
            with sampled(master.cluster.processes[0].pid, root / "profile") as samples:
                deliver_all(repo, master, again)
                events.wait(lambda: events.count("finished", 0) >= LANES + 2 * builds, timeout=900)
                master.wait_idle()
        failed = [b for b in master.builds(complete="true") if b["results"] != 0]
        if failed:
            raise RuntimeError(f"{len(failed)} burst build(s) failed")
    shell = _shell(root, repo, names)
    overhead = (wall - shell) * LANES / builds
    return [
        Row(f"burst of {builds}: wall time", wall, "s", shell, "shell script"),
        Row(
            f"burst of {builds}: builds per minute",
            builds * 60 / wall,
            "/min",
            builds * 60 / shell,
            "shell script",
        ),
        Row(
            "burst: master overhead per build",
            overhead,
            "s/build",
            target="<= 0.25 s over shell",
        ),
        Row("burst: master CPU per build", cpu / builds, "s/build"),
        *_attribution(samples, cpu / builds),
        Row("burst: database statements per build", sent / builds, "/build"),
        Row("master RSS end of burst", end_rss, "MB", idle_rss, "before the burst"),
    ]
