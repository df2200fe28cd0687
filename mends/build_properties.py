"""A build's properties are written together, and read from memory on the master running it.

Replaces: ``buildbot.db.builds.BuildsConnectorComponent.setBuildProperty`` and
``getBuildProperties``; wraps ``addBuild``, which starts what is kept of a new build,
and ``setBuildStateString``, ``finishBuild`` and ``buildbot.process.build.Build.stepDone``,
which wait for the build's properties.

Defect (a cost): at its start and after each step a build hands all its properties to
``setBuildProperties``, which reads the build's properties back and then writes each
changed one in a transaction of its own (two statements), waiting for one before the
next: about fifteen transactions at a build's start, some twenty-five a build. Every
reporter's message and every flush reads them back again. No upstream issue yet.

Mend: a property write is kept and the caller goes on; what is kept until the reactor's
next turn is written in one call into the database's thread, a transaction per build
(one read of what is there, one insert of what is new, an update for each changed
value), one batch at a time, in order. A build's properties are written only by the
master running it, so for a build this master added (the last :data:`MOST` of them)
they are also kept in memory, as the JSON the database holds, and read from there; a
read of another build waits for the writes of it that are kept or under way.

What upstream's callers relied on stays: a build goes on to its next step, writes its
state and finishes only after its properties are written (its ``new`` and ``finished``
events find them in the database, on every master), and the master's database stops
only after the last batch. A write that fails is logged and the build's properties are
read from the database again; the build's end of step (or its next property write)
fails with it, so the build ends in EXCEPTION as upstream's failed flush made it, and a
finish that comes first is written as EXCEPTION. What is not as upstream's: the event
of a property change goes out as the change is kept, a moment before it is written (a
reader on another master may find the value before it for that moment), and a write
that fails at the build's start shows at its first step's end, after its ``new`` event.

Gain: see docs/mends.rst (``make bench BENCH_ARGS=--mends``, database statements per
build with this mend off).

Remove when: upstream writes a build's properties together (the canary
``test_upstream_writes_each_property_in_a_transaction_of_its_own`` then fails).
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from buildbot.db.builds import BuildsConnectorComponent
from buildbot.process.build import Build
from buildbot.process.results import EXCEPTION, worst_status
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from mends.kept import Kept, state_of
from mends.wrapping import replace

TARGETS = (
    "buildbot.db.builds:BuildsConnectorComponent.setBuildProperty",
    "buildbot.db.builds:BuildsConnectorComponent.getBuildProperties",
    "buildbot.db.builds:BuildsConnectorComponent.addBuild",
    "buildbot.db.builds:BuildsConnectorComponent.setBuildStateString",
    "buildbot.db.builds:BuildsConnectorComponent.finishBuild",
    "buildbot.process.build:Build.stepDone",
    # What relies on a write returning before the next is asked for, and on the state
    # and the finish being written after the properties:
    "buildbot.data.properties:Properties.setBuildProperties",
    "buildbot.process.build:Build.startBuild",
    "buildbot.process.build:Build._start_next_step_impl",
)

MOST = 500
"""Builds whose properties (and failed writes) are kept in memory, the latest added."""
STATE = "_mend_build_properties"
"""The component's :class:`Writes` (an attribute of the component)."""

Rows = dict[int, dict[str, tuple[str, str]]]
"""Build id -> property name -> (value as JSON, source)."""


@dataclass
class Batch:
    """Property writes that go to the database in one call."""

    rows: Rows = field(default_factory=dict)
    written: defer.Deferred[None] = field(default_factory=defer.Deferred)
    """Fires (never fails) once the batch is written or has failed."""
    done: defer.Deferred[None] = field(default_factory=defer.Deferred)
    """Fires after ``written``'s waiters went on and the next batch started: what the
    database's stop waits for."""

    def ended(self) -> defer.Deferred[None]:
        """A deferred that fires when the batch has ended."""
        done: defer.Deferred[None] = defer.Deferred()

        def tell(result: None) -> None:
            done.callback(None)

        self.written.addCallback(tell)
        return done


@dataclass
class Writes:
    """A component's kept writes, kept builds and failed writes."""

    next: Batch | None = None
    under_way: Batch | None = None
    kept: Kept[int, dict[str, tuple[str, str]]] = field(default_factory=lambda: Kept(MOST))
    failed: Kept[int, BaseException] = field(default_factory=lambda: Kept(MOST))

    def batch_of(self, bid: int) -> Batch | None:
        """The batch that will write or is writing build ``bid``'s properties, if any."""
        for batch in (self.next, self.under_way):
            if batch is not None and bid in batch.rows:
                return batch
        return None

    def after_writes_of(self, bid: int) -> defer.Deferred[None]:
        """Fires once what is kept or under way of build ``bid`` has been written."""
        batch = self.batch_of(bid)
        return batch.ended() if batch is not None else defer.succeed(None)


def _writes(component: Any) -> Writes:
    return state_of(component, STATE, Writes)


def _thd_write_build(conn: Any, table: Any, bid: int, properties: dict[str, Any]) -> None:
    """In the database thread: write one build's properties (in a transaction)."""
    there = {
        row.name: (row.value, row.source)
        for row in conn.execute(
            sa.select(table.c.name, table.c.value, table.c.source).where(
                table.c.buildid == bid, table.c.name.in_(list(properties))
            )
        )
    }
    new = []
    for name, (value, source) in properties.items():
        found = there.get(name)
        if found is None:
            new.append({"buildid": bid, "name": name, "value": value, "source": source})
        elif found != (value, source):
            conn.execute(
                table.update().where(table.c.buildid == bid, table.c.name == name),
                {"value": value, "source": source},
            )
    if new:
        conn.execute(table.insert(), new)


def _thd_write(conn: Any, table: Any, rows: Rows) -> dict[int, BaseException]:
    """In the database thread: write ``rows``, a transaction per build; the builds whose
    transaction failed, with the failure. An operational error (the database locked or
    gone) fails the call, which Buildbot's pool tries again as it would upstream's write;
    a build written already is written again to the same rows."""
    failed: dict[int, BaseException] = {}
    for bid, properties in rows.items():
        try:
            with conn.begin():
                _thd_write_build(conn, table, bid, properties)
        except sa.exc.OperationalError as error:
            if conn.engine.should_retry(error):
                raise
            failed[bid] = error.with_traceback(None)
        except Exception as error:
            failed[bid] = error.with_traceback(None)
    return failed


def _start(component: Any) -> None:
    """Write the next batch, unless one is under way (its end starts the next)."""
    state = _writes(component)
    if state.under_way is not None or state.next is None:
        return
    batch, state.next, state.under_way = state.next, None, state.next
    table = component.db.model.build_properties
    written = defer.maybeDeferred(component.db.pool.do, _thd_write, table, batch.rows)

    def ended(result: dict[int, BaseException] | Failure) -> None:
        try:
            state.under_way = None
            if isinstance(result, Failure):  # the whole call: every build of the batch
                Logger().failure("writing build properties", result)
                failed = dict.fromkeys(batch.rows, cast(BaseException, result.value))
            else:
                failed = dict(result)
                for bid, error in failed.items():
                    Logger().error(
                        "writing the properties of build {bid}: {error!r}", bid=bid, error=error
                    )
            for bid, error in failed.items():
                state.kept.pop(bid, None)  # what the database holds is read again
                state.failed.put(bid, error)
        finally:
            batch.written.callback(None)
            _start(component)
            batch.done.callback(None)

    written.addBoth(ended)


def _keeping(upstream: Any) -> Any:
    def setBuildProperty(self: Any, bid: int, name: str, value: Any, source: str) -> Any:
        state = _writes(self)
        error = state.failed.pop(bid, None)
        if error is not None:
            return defer.fail(error)  # an earlier write of this build failed
        try:
            table = self.db.model.build_properties
            self.checkLength(table.c.name, name)
            self.checkLength(table.c.source, source)
            row = (json.dumps(value), source)
        except Exception:  # upstream's write failed with these too
            return defer.fail()
        if state.next is None:
            state.next = Batch()
            self.db.run_db_task(state.next.done)  # the database stops after it
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
        kept = state.kept.used(bid) if resultSpec is None else None
        if kept is not None:
            return {name: (json.loads(value), source) for name, (value, source) in kept.items()}
        yield state.after_writes_of(bid)
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


def _after_properties(upstream: Any) -> Any:
    @defer.inlineCallbacks
    def setBuildStateString(self: Any, buildid: int, state_string: str) -> Generator[Any, Any, Any]:
        yield _writes(self).after_writes_of(buildid)
        return (yield upstream(self, buildid, state_string))

    return setBuildStateString


def _finishing_after_properties(upstream: Any) -> Any:
    @defer.inlineCallbacks
    def finishBuild(self: Any, buildid: int, results: int) -> Generator[Any, Any, Any]:
        state = _writes(self)
        yield state.after_writes_of(buildid)
        if state.failed.pop(buildid, None) is not None:
            results = worst_status(results, EXCEPTION)  # its properties are not all written
        return (yield upstream(self, buildid, results))

    return finishBuild


def _stepping_after_properties(upstream: Any) -> Any:
    @defer.inlineCallbacks
    def stepDone(self: Any, results: Any, step: Any) -> Generator[Any, Any, Any]:
        state = _writes(self.master.db.builds)
        yield state.after_writes_of(self.buildid)
        error = state.failed.pop(self.buildid, None)
        if error is not None:
            raise error  # the build's flush failed: upstream's own handling ends the build
        return (yield upstream(self, results, step))

    return stepDone


def install() -> None:
    replace(BuildsConnectorComponent, "setBuildProperty", _keeping)
    replace(BuildsConnectorComponent, "getBuildProperties", _read_after_writes)
    replace(BuildsConnectorComponent, "addBuild", _keeping_new_builds)
    replace(BuildsConnectorComponent, "setBuildStateString", _after_properties)
    replace(BuildsConnectorComponent, "finishBuild", _finishing_after_properties)
    replace(Build, "stepDone", _stepping_after_properties)
