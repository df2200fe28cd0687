"""A buildset is read in one statement while it runs, and from memory once complete.

Replaces: ``buildbot.db.buildsets.BuildsetsConnectorComponent.getBuildset``.

Defect (a cost): a buildset is read about eleven times per build (its ``new`` event, the
canceller, the collapsing of requests, the request's object, each reporter's message,
the completion check, the summaries), each time in two statements: its row, then its
source stamps. Its source stamps never change once it is added, and nothing changes a
buildset once it is complete (Buildbot completes one only if it is not, and deletes
none). No upstream issue yet.

Mend: the first read of a buildset is upstream's, and the buildset is kept (the last
:data:`MOST` read). While it is not complete, a read asks the database for the three
columns that change (``complete``, ``complete_at``, ``results``) in one statement and
gives them with what was kept; a read that finds it complete keeps it so, and from then
on it is read from memory. Another master completing it shows at the next read, as
upstream's would. Each reader gets its own copy. A script that deletes old buildsets
(Buildbot has none; ids can be used again on SQLite) must run with the masters stopped,
or with this mend left out (``buildmaster.mends_off``).

Gain: see docs/mends.rst (``make bench BENCH_ARGS=--mends``, database statements per
build with this mend off).

Remove when: upstream keeps buildsets or reads their source stamps with them (the canary
``test_upstream_reads_a_buildset_in_two_statements_each_time`` then fails).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

import sqlalchemy as sa
from buildbot.db.buildsets import BuildSetModel, BuildsetsConnectorComponent
from buildbot.util import epoch2datetime
from twisted.internet import defer

from mends.kept import Kept, state_of
from mends.wrapping import replace

TARGETS = (
    "buildbot.db.buildsets:BuildsetsConnectorComponent.getBuildset",
    # What the kept buildsets rely on: the columns a read converts, the one write that
    # changes a buildset (only one not complete) and the model it gives.
    "buildbot.db.buildsets:BuildsetsConnectorComponent._thd_model_from_row",
    "buildbot.db.buildsets:BuildsetsConnectorComponent.completeBuildset",
    "buildbot.db.buildsets:BuildSetModel",
)

MOST = 2000
"""Buildsets kept, the latest read."""
KEPT = "_mend_kept_buildsets"
"""The component's kept buildsets: id -> model."""


def _kept(component: Any) -> Kept[int, BuildSetModel]:
    return state_of(component, KEPT, lambda: Kept[int, BuildSetModel](MOST))


def _copy(model: BuildSetModel) -> BuildSetModel:
    """A model its reader may change without changing the kept one."""
    return dataclasses.replace(model, sourcestamps=list(model.sourcestamps))


def _thd_changing_columns(conn: Any, table: Any, bsid: int) -> Any:
    """In the database thread: the columns of buildset ``bsid`` that change, or None."""
    query = sa.select(table.c.complete, table.c.complete_at, table.c.results)
    return conn.execute(query.where(table.c.id == bsid)).fetchone()


def _reading_less(upstream: Any) -> Any:
    @defer.inlineCallbacks
    def getBuildset(self: Any, bsid: int) -> Generator[Any, Any, BuildSetModel | None]:
        kept = _kept(self)
        model = kept.used(bsid)
        if model is None:
            model = yield upstream(self, bsid)
            if model is None:
                return None
            kept.put(bsid, model)
            return _copy(model)
        if not model.complete:
            row = yield self.db.pool.do(_thd_changing_columns, self.db.model.buildsets, bsid)
            if row is None:
                kept.pop(bsid, None)
                return None
            model = dataclasses.replace(
                model,
                complete=bool(row.complete),
                complete_at=epoch2datetime(row.complete_at),
                results=row.results,
            )
            if model.complete:  # final: nothing changes a complete buildset
                kept.put(bsid, model)
        return _copy(model)

    return getBuildset


def install() -> None:
    replace(BuildsetsConnectorComponent, "getBuildset", _reading_less)
