"""A pipeline's hand-over: from the end of its first builder's build to the start of the
build it triggered.

The master's one worker builds a two-builder pipeline (``first``, forced, triggers
``second``, not waiting for it), so the worker becomes free for the triggered build at the
moment the first build ends: the figure is the time the master takes to start a triggered
build once a worker is available (goal: at most 0.1 s). Both moments are the builds'
websocket events. It shares the master of another measurement, once that is done (a
master's start costs more than the pipeline's builds).
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.cluster import Running, last_buildid
from bench.events import BuildEvents, Event
from bench.report import Row

BUILDERS: list[dict[str, Any]] = [
    {
        "name": "first",
        "then": ["second"],
        "branches": ["release"],  # no push of the bench: it runs when forced
        "steps": [{"kind": "run", "name": "command", "command": ["true"]}],
    },
    {
        "name": "second",
        "triggered": True,
        "steps": [{"kind": "run", "name": "command", "command": ["true"]}],
    },
]


def _event(events: BuildEvents, kind: str, builderid: int, after: int) -> Event:
    """The first ``kind`` event of a build of ``builderid`` newer than ``after``."""

    def found() -> Event | None:
        return next(
            (
                e
                for e in events.events
                if e.kind == kind and e.buildid > after and e.build.get("builderid") == builderid
            ),
            None,
        )

    events.wait(found)
    event = found()
    assert event is not None
    return event


def measure_on(bench: Running, runs: int) -> list[Row]:
    """``runs`` forced builds of the pipeline on ``bench``, a master with one worker, idle,
    whose builders include :data:`BUILDERS` (no push builds them)."""
    master, events = bench.master, bench.events
    admin = master.session("admin", "admin-pw")
    first, second = (master.builder(name)["builderid"] for name in ("first", "second"))
    delays = []
    for _ in range(runs):
        before = last_buildid(master)
        status, answer = admin.control(
            "forceschedulers/demo-force", "force", builderNames=["first"], branch="master"
        )
        if status != 200:
            raise RuntimeError(f"the master did not force the pipeline: {answer}")
        ended = _event(events, "finished", first, before)
        started = _event(events, "new", second, before)
        delays.append(started.at - ended.at)
        _event(events, "finished", second, before)
        master.wait_idle()
    return [
        Row(
            "pipeline: first build's end to the triggered build's start, median",
            statistics.median(delays),
            "s",
            target="<= 0.1 s over the worker's availability",
        )
    ]
