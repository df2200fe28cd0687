"""Warm checkout and merge on a large repository, against a clobber checkout and against
the same git work run by hand.

The repository is generated with ``git fast-import`` (one stream, seconds rather than
thousands of ``git commit`` calls) and kept between runs; each run adds a few commits.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.cluster import TRIVIAL_BUILDER, Running, git_env, last_buildid, running, settings
from bench.report import Row

COMMITTER = "Bench <bench@example.com>"
EPOCH = 1_700_000_000


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


def _commit_header(ref: str, when: int, message: str) -> bytes:
    return f"commit {ref}\ncommitter {COMMITTER} {when} +0000\n".encode() + _data(message)


def _path(number: int) -> str:
    return f"src/pkg{number // 200:03d}/module{number:05d}.py"


def generate(bare: Path, commits: int, files: int) -> None:
    """A bare repository whose master has ``commits`` commits over ``files`` files."""
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=master", str(bare)],
        check=True,
        env=git_env(),
    )
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet"], cwd=bare, stdin=subprocess.PIPE, env=git_env()
    )
    assert importer.stdin is not None
    write = importer.stdin.write
    write(_commit_header("refs/heads/master", EPOCH, "initial import"))
    for number in range(files):
        write(f"M 100644 inline {_path(number)}\n".encode())
        write(_data(f"# module {number}\nVALUE = 0\n"))
    for commit in range(1, commits):
        write(_commit_header("refs/heads/master", EPOCH + commit, f"change {commit}"))
        for touched in range(4):
            number = (commit * 4 + touched) * 7 % files
            write(f"M 100644 inline {_path(number)}\n".encode())
            write(_data(f"# module {number}\nVALUE = {commit}\n"))
    importer.stdin.close()
    if importer.wait() != 0:
        raise RuntimeError("git fast-import failed")


def cached(directory: Path, commits: int, files: int) -> Path:
    """The generated repository for these sizes, made once and then reused."""
    bare = directory / f"bigrepo-{commits}-{files}.git"
    done = bare / "bench-complete"
    if not done.exists():
        shutil.rmtree(bare, ignore_errors=True)
        bare.parent.mkdir(parents=True, exist_ok=True)
        generate(bare, commits, files)
        done.touch()
    return bare


def new_work(bare: Path, branch: str) -> None:
    """A new commit on ``branch`` (from master), then a new commit on master: a real merge."""
    when = int(time.time())
    stream = b"".join(
        [
            _commit_header(f"refs/heads/{branch}", when, f"work on {branch}"),
            b"from refs/heads/master^0\n",
            f"M 100644 inline work/{branch}.txt\n".encode(),
            _data(branch),
            _commit_header("refs/heads/master", when, f"master moves on after {branch}"),
            b"from refs/heads/master^0\n",
            f"M 100644 inline {_path(0)}\n".encode(),
            _data(f"# module 0\nVALUE = {branch!r}\n"),
        ]
    )
    subprocess.run(
        ["git", "fast-import", "--quiet", "--force"],
        cwd=bare,
        input=stream,
        check=True,
        env=git_env(),
    )


def build_commands(url: str, branch: str) -> list[list[str]]:
    """The git commands a warm build runs, in its order: ``checkout.sh``, then
    ``merge_forward.sh`` (the build checks out the pushed commit by its id, the same as
    ``FETCH_HEAD`` here)."""
    merge = ["merge", "--no-ff", "-m", f"Merge master into {branch}", "FETCH_HEAD"]
    return [
        ["clean", "-f", "-f", "-d", "-x"],
        ["fetch", "-f", url, branch],
        ["checkout", "-f", "FETCH_HEAD"],
        ["checkout", "-B", branch],
        ["rev-parse", "HEAD"],
        ["fetch", url, "master"],
        ["merge-base", "HEAD", "FETCH_HEAD"],
        ["log", "-1", "--format=%cd", "--date=raw", "HEAD"],
        merge,
        ["rev-parse", "HEAD"],
    ]


def needed_commands(url: str, branch: str) -> list[list[str]]:
    """The fewest git commands that give the same tree."""
    return [
        ["fetch", "-f", url, branch],
        ["checkout", "-f", "FETCH_HEAD"],
        ["clean", "-f", "-f", "-d", "-x"],
        ["fetch", url, "master"],
        ["merge", "--no-ff", "-m", f"Merge master into {branch}", "FETCH_HEAD"],
    ]


def by_hand(clone: Path, commands: list[list[str]]) -> float:
    """Run git ``commands`` one after another in ``clone``; their wall time."""
    started = time.monotonic()
    for command in commands:
        subprocess.run(["git", *command], cwd=clone, check=True, env=git_env(), capture_output=True)
    return time.monotonic() - started


@dataclass(frozen=True)
class Timed:
    """One build's figures, from its events' arrival times."""

    steps: float  # the checkout step's start to the merge-forward step's end
    build: float  # the build's start to its end (also its recipe, one ``true``)


def build_time(bench: Running, builderid: int, branch: str) -> Timed:
    """Force a build of ``branch``; time its checkout and merge steps, and the whole build."""
    master = bench.master
    admin = master.session("admin", "admin-pw")
    before = last_buildid(master)
    status, answer = admin.control(
        "forceschedulers/demo-force", "force", builderid=builderid, branch=branch, reason="bench"
    )
    if status != 200:
        raise RuntimeError(f"force refused: {answer}")
    events = bench.events
    finished = events.first("finished", before)
    if finished.build["results"] != 0:
        raise RuntimeError(f"the build of {branch} failed")
    return Timed(
        steps=events.first("merge-forward finished", before).at
        - events.first("checkout started", before).at,
        build=finished.at - events.first("new", before).at,
    )


def measure(root: Path, cache: Path, commits: int, files: int, runs: int) -> list[Row]:
    bare = cached(cache, commits, files)
    # A file:// URL, not a path: git then clones through its transport, as from GitHub,
    # where a path would hard-link the objects and make a clobber build unlike any real one.
    url = bare.as_uri()
    stamp = time.strftime("%H%M%S")
    with running(root / "cluster", settings(url, 1, 0)) as bench:
        builder = bench.master.builder(TRIVIAL_BUILDER)
        new_work(bare, f"warm-{stamp}")
        build_time(bench, builder["builderid"], f"warm-{stamp}")  # the worker clones once
        warm = []
        for run in range(runs):
            branch = f"warm-{stamp}-{run}"
            new_work(bare, branch)
            warm.append(build_time(bench, builder["builderid"], branch))
        shutil.rmtree(root / "cluster" / "worker-1" / "trivial" / "build")
        new_work(bare, f"clobber-{stamp}")
        clobber = build_time(bench, builder["builderid"], f"clobber-{stamp}")

    clone = root / "by-hand"
    subprocess.run(["git", "clone", "--quiet", url, str(clone)], check=True, env=git_env())
    same, needed = [], []
    for run in range(runs):
        branch = f"same-{stamp}-{run}"
        new_work(bare, branch)
        same.append(by_hand(clone, build_commands(url, branch)))
        branch = f"needed-{stamp}-{run}"
        new_work(bare, branch)
        needed.append(by_hand(clone, needed_commands(url, branch)))
    warm_steps = statistics.median(run.steps for run in warm)
    by_hand_median = statistics.median(same)
    name = f"({commits} commits, {files} files)"
    return [
        Row(
            f"warm checkout + merge {name}",
            warm_steps,
            "s",
            by_hand_median,
            "its git commands by hand",
            "<= 1.3x by hand",
        ),
        Row(
            "warm checkout + merge, fewest commands",
            warm_steps,
            "s",
            statistics.median(needed),
            "5 git commands by hand",
        ),
        Row(
            "warm build (checkout, merge, true)",
            statistics.median(run.build for run in warm),
            "s",
            by_hand_median,
            "its git commands by hand",
        ),
        Row(
            "clobber checkout + merge",
            clobber.steps,
            "s",
            warm_steps,
            "warm checkout + merge",
            ">= 5x the warm one",
        ),
    ]
