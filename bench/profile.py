"""Where the master's CPU goes: py-spy samples the master process during a measurement and
each sample is charged to one part of the master.

A sample's stack is charged to the outermost frame of our own code (``config/``, ``mends/``):
what our code sets off (its queries, its HTTP calls) is its cost. A stack without our code
goes to the outermost Buildbot service on it (reporters, schedulers, the change hook), or
else to the innermost layer it was in (the database, the data API, the message queue,
builds, the worker link, the web server, the reactor).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

RATE = 200
"""Samples per second."""

_FRAME = re.compile(r"\((?P<path>[^():]+\.py):\d+\)$")

# A frame's file, as py-spy shortens it (to the package part), and what it is charged to.
_OURS = re.compile(r"^(?P<package>config|mends)/(?P<module>.+)\.py$")
_SERVICES = (
    ("buildbot/reporters/", "buildbot: reporters"),
    ("buildbot/schedulers/", "buildbot: schedulers"),
    ("buildbot/changes/", "buildbot: change sources"),
    ("buildbot/www/hooks/", "buildbot: change hook"),
)
_LAYERS = (
    ("buildbot/db/", "buildbot: database"),
    ("sqlalchemy/", "buildbot: database"),
    ("buildbot/data/", "buildbot: data API"),
    ("buildbot/mq/", "buildbot: message queue"),
    ("buildbot/process/", "buildbot: builds"),
    ("buildbot/worker/", "buildbot: worker link"),
    ("twisted/spread/", "buildbot: worker link"),
    ("buildbot/www/", "buildbot: web"),
    ("autobahn/", "buildbot: web"),
    ("buildbot/", "buildbot: other"),
)
_ENTRY = "buildbot/scripts/"
"""The command that started the master: at the bottom of every reactor stack."""
# Leaf frames of a thread that waits: the reactor's poll, an idle pool thread.
_IDLE = (
    "doPoll (twisted/internet/epollreactor.py:",
    "work (twisted/_threads/_threadworker.py:",
    "wait (threading.py:",
)


def part(stack: list[str]) -> str | None:
    """The part of the master a stack (outermost frame first) is charged to; None for a
    thread that waits."""
    if stack[-1].startswith(_IDLE):
        return None
    files = [found["path"] for frame in stack if (found := _FRAME.search(frame))]
    for path in files:
        if ours := _OURS.match(path):
            return f"{ours['package']}.{ours['module'].replace('/', '.')}"
    for path in files:
        for prefix, name in _SERVICES:
            if path.startswith(prefix):
                return name
    for path in reversed(files):
        if path.startswith(_ENTRY):
            continue
        for prefix, name in _LAYERS:
            if path.startswith(prefix):
                return name
    if any(path.startswith("twisted/") for path in files):
        return "twisted: reactor and I/O"
    return "python, other"


def parts(raw: str) -> Counter[str]:
    """Samples per part, from py-spy's raw format (``frame;frame;... count`` per line)."""
    counted: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit() and (name := part(stack.split(";"))) is not None:
            counted[name] += int(count)
    return counted


@dataclass
class Profile:
    """The samples of one measurement, once it has ended (empty if py-spy could not run)."""

    samples: Counter[str] = field(default_factory=Counter)

    def shares(self) -> dict[str, float]:
        """Each part's share of the samples, largest first."""
        total = sum(self.samples.values())
        return {name: count / total for name, count in self.samples.most_common()} if total else {}


@contextlib.contextmanager
def sampled(pid: int, directory: Path) -> Iterator[Profile]:
    """Sample process ``pid`` while the block runs; the profile is filled when it ends.

    py-spy needs to read the master's memory (ptrace); where it may not, the profile stays
    empty and a line on stderr says why.
    """
    profile = Profile()
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        print("bench: no py-spy: the master is not profiled", file=sys.stderr)
        yield profile
        return
    directory.mkdir(parents=True, exist_ok=True)
    output = directory / "master.raw"
    log = directory / "py-spy.log"
    command = [spy, "record", "--pid", str(pid), "--rate", str(RATE)]
    command += ["--format", "raw", "--output", str(output)]
    with log.open("w") as errors:
        recorder = subprocess.Popen(
            command,
            stdout=errors,
            stderr=subprocess.STDOUT,
        )
    try:
        yield profile
    finally:
        if recorder.poll() is None:
            os.kill(recorder.pid, signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            recorder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()
        if output.exists():
            profile.samples = parts(output.read_text())
        else:
            print(f"bench: py-spy could not profile the master: {log.read_text()}", file=sys.stderr)
