"""A builder's row is read from the database at most once a second.

Replaces: ``buildbot.db.builders.BuildersConnectorComponent.getBuilder``, and wraps the
component's three writes (``updateBuilderInfo``, ``addBuilderMaster``,
``removeBuilderMaster``), which forget what was kept.

Defect (a cost): the build request distributor, the collapsing of requests, the
canceller, the schedulers and every reporter's message read the builder of a build or a
request through the data API, and Buildbot 4.3 keeps none of it: about ten reads of the
same row per build, two statements each (the builder and its tags, joined with its
masters). Buildbot's ``caches`` have no kind for it. No upstream issue yet.

Mend: a row read is kept for :data:`FOR` seconds and given out as a copy; this master's
writes to the builders forget every kept row at once. What another master writes (the
masters that serve a builder, as they start and stop) shows at most :data:`FOR` later.

Gain: see docs/mends.rst (``make bench BENCH_ARGS=--mends``, database statements per
build with this mend off).

Remove when: upstream keeps builder rows (the canary
``test_upstream_reads_a_builder_each_time`` then fails).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

from buildbot.db.builders import BuildersConnectorComponent
from twisted.internet import defer

from mends.kept import state_of
from mends.wrapping import replace

WRITES = ("updateBuilderInfo", "addBuilderMaster", "removeBuilderMaster")
TARGETS = (
    "buildbot.db.builders:BuildersConnectorComponent.getBuilder",
    *(f"buildbot.db.builders:BuildersConnectorComponent.{name}" for name in WRITES),
)

FOR = 1.0
"""Seconds a builder's row is kept."""
KEPT = "_mend_kept_builders"
"""The component's kept rows: builder id -> (when read, row)."""


def _copy(row: Any) -> Any:
    """A row its reader may change without changing the kept one."""
    if row is None:
        return None
    return dataclasses.replace(row, tags=list(row.tags), masterids=list(row.masterids))


def _kept_for_a_while(upstream: Any) -> Any:
    @defer.inlineCallbacks
    def getBuilder(self: Any, builderid: int) -> Generator[Any, Any, Any]:
        kept: dict[int, tuple[float, Any]] = state_of(self, KEPT, dict)
        now = self.master.reactor.seconds()
        found = kept.get(builderid)
        if found is not None and now - found[0] < FOR:
            return _copy(found[1])
        row = yield upstream(self, builderid)
        if row is not None:
            kept[builderid] = (now, row)
        return _copy(row)

    return getBuilder


def _forgetting(upstream: Any) -> Any:
    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        vars(self).pop(KEPT, None)
        written = upstream(self, *args, **kwargs)

        def forget(result: Any) -> Any:
            vars(self).pop(KEPT, None)  # a read during the write may have kept the old row
            return result

        return written.addBoth(forget)

    return write


def install() -> None:
    replace(BuildersConnectorComponent, "getBuilder", _kept_for_a_while)
    for name in WRITES:
        replace(BuildersConnectorComponent, name, _forgetting)
