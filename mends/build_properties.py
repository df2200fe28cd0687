"""A build's properties are written together, and read from memory on the master running it.

Replaces: ``buildbot.db.builds.BuildsConnectorComponent.setBuildProperty`` and
``getBuildProperties``, and wraps ``addBuild``, which starts what is kept of a new build.

Defect (a cost): at its start and after each step a build hands all its properties to
``setBuildProperties``, which reads the build's properties back and then writes each
changed one in a transaction of its own (two statements), waiting for one before the
next: about fifteen transactions at a build's start, some twenty-five a build. Every
reporter's message and every flush reads them back again. No upstream issue yet.

Mend: a property write is kept and the caller goes on; what is kept until the reactor's
next turn is written in one transaction (one read of what is there, one insert of what
is new, an update for each changed value), writes in order, one at a time. A build's
properties are written only by the master running it, so for a build this master added
(the last :data:`MOST` of them) they are also kept in memory, as the JSON the database
holds, and read from there. A read of another build waits for the writes of it that are
kept or under way, then reads the database. A write that fails is logged, the build's
properties are read from the database again, and the build's next reader (usually its
next flush, which then fails the build as upstream's failed write did) gets the failure.

Gain: see docs/mends.rst (``make bench BENCH_ARGS=--mends``, database statements per
build with this mend off).

Remove when: upstream writes a build's properties together (the canary
``test_upstream_writes_each_property_in_a_transaction_of_its_own`` then fails).
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from buildbot.db.builds import BuildsConnectorComponent
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from mends.kept import Kept
from mends.wrapping import replace

TARGETS = (
    "buildbot.db.builds:BuildsConnectorComponent.setBuildProperty",
    "buildbot.db.builds:BuildsConnectorComponent.getBuildProperties",
    "buildbot.db.builds:BuildsConnectorComponent.addBuild",
    # What relies on a write returning before the next is asked for:
    "buildbot.data.properties:Properties.setBuildProperties",
)

MOST = 500
"""Builds whose properties are kept in memory, the latest added."""
STATE = "_mend_build_properties"
"""The component's :class:`Writes` (an attribute of the component)."""

Rows = dict[int, dict[str, tuple[str, str]]]
"""Build id -> property name -> (value as JSON, source)."""


@dataclass
class Batch:
    """Property writes that go to the database in one transaction."""

    rows: Rows = field(default_factory=dict)
    waiting: list[defer.Deferred[None]] = field(default_factory=list)

    def ended(self, failure: Failure | None) -> None:
        for waiter in self.waiting:
            if failure is None:
                waiter.callback(None)
            else:
                waiter.errback(failure)


@dataclass
class Writes:
    """A component's kept writes and kept builds."""

    next: Batch | None = None
    under_way: Batch | None = None
    kept: Kept[int, dict[str, tuple[str, str]]] = field(default_factory=lambda: Kept(MOST))
    failed: dict[int, Failure] = field(default_factory=dict)

    def batch_of(self, bid: int) -> Batch | None:
        """The batch the next read of build ``bid`` waits for, if any."""
        for batch in (self.next, self.under_way):
            if batch is not None and bid in batch.rows:
                return batch
        return None


def _writes(component: Any) -> Writes:
    writes: Writes = vars(component).setdefault(STATE, Writes())
    return writes


def _thd_write(conn: Any, table: Any, rows: Rows) -> None:
    """In the database thread: write ``rows`` (in a transaction)."""
    there = {
        (row.buildid, row.name): (row.value, row.source)
        for row in conn.execute(
            sa.select(table.c.buildid, table.c.name, table.c.value, table.c.source).where(
                table.c.buildid.in_(list(rows))
            )
        )
    }
    new = []
    for bid, properties in rows.items():
        for name, (value, source) in properties.items():
            found = there.get((bid, name))
            if found is None:
                new.append({"buildid": bid, "name": name, "value": value, "source": source})
            elif found != (value, source):
                conn.execute(
                    table.update().where(table.c.buildid == bid, table.c.name == name),
                    {"value": value, "source": source},
                )
    if new:
        conn.execute(table.insert(), new)


def _start(component: Any) -> None:
    """Write the next batch, unless one is under way (its end starts the next)."""
    state = _writes(component)
    if state.under_way is not None or state.next is None:
        return
    batch, state.next, state.under_way = state.next, None, state.next
    table = component.db.model.build_properties
    written = component.db.pool.do_with_transaction(_thd_write, table, batch.rows)

    def ended(result: Any) -> None:
        state.under_way = None
        failure = result if isinstance(result, Failure) else None
        if failure is not None:
            Logger().failure("writing build properties", failure)
            for bid in batch.rows:
                if state.kept.pop(bid, None) is not None:  # its readers did not wait
                    state.failed[bid] = failure
        batch.ended(failure)
        _start(component)

    written.addBoth(ended)


def _keeping(upstream: Any) -> Any:
    def setBuildProperty(self: Any, bid: int, name: str, value: Any, source: str) -> Any:
        try:
            table = self.db.model.build_properties
            self.checkLength(table.c.name, name)
            self.checkLength(table.c.source, source)
            row = (json.dumps(value), source)
        except Exception:  # upstream's write failed with these too
            return defer.fail()
        state = _writes(self)
        if state.next is None:
            state.next = Batch()
            self.master.reactor.callLater(0, _start, self)
        state.next.rows.setdefault(bid, {})[name] = row
        if bid in state.kept:
            state.kept[bid][name] = row
        return defer.succeed(None)

    return setBuildProperty


def _read_after_writes(upstream: Any) -> Any:
    @defer.inlineCallbacks
    def getBuildProperties(
        self: Any, bid: int, resultSpec: Any = None
    ) -> Generator[Any, Any, dict[str, tuple[Any, str]]]:
        state = _writes(self)
        failure = state.failed.pop(bid, None)
        if failure is not None:
            failure.raiseException()
        kept = state.kept.used(bid) if resultSpec is None else None
        if kept is not None:
            return {name: (json.loads(value), source) for name, (value, source) in kept.items()}
        batch = state.batch_of(bid)
        if batch is not None:
            waiter: defer.Deferred[None] = defer.Deferred()
            batch.waiting.append(waiter)
            yield waiter
        read: dict[str, tuple[Any, str]] = yield upstream(self, bid, resultSpec)
        return read

    return getBuildProperties


def _keeping_new_builds(upstream: Any) -> Any:
    @defer.inlineCallbacks
    def addBuild(self: Any, *args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        added = yield upstream(self, *args, **kwargs)
        _writes(self).kept.put(added[0], {})  # a new build has no properties yet
        return added

    return addBuild


def install() -> None:
    replace(BuildsConnectorComponent, "setBuildProperty", _keeping)
    replace(BuildsConnectorComponent, "getBuildProperties", _read_after_writes)
    replace(BuildsConnectorComponent, "addBuild", _keeping_new_builds)
