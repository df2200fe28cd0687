"""A running build's, step's or log's row is read from memory on the master running it,
and is what the database holds (``mends/running_rows.py``), on Buildbot's own data API and
database layer."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any, cast

import pytest
from buildbot.db.steps import StepsConnectorComponent
from twisted.internet import defer
from twisted.trial import unittest

from mends import build_properties, running_rows
from tests.fake_master import database_calls, make_master, one_build
from tests.stock import stock

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    warnings.simplefilter("ignore")
    from buildbot.test import fakedb
    from buildbot.test.reactor import TestReactorMixin


class RunningRows(TestReactorMixin, unittest.TestCase):
    @defer.inlineCallbacks
    def setUp(self) -> Generator[Any, Any, None]:  # type: ignore[override]
        self.setup_test_reactor()
        build_properties.install()  # as a master installs them: its addBuild inside ours
        running_rows.install()
        self.master = yield make_master(self, wantDb=True, wantData=True)
        yield self.master.db.insert_test_data(
            [*one_build(1), fakedb.Step(id=70, number=0, name="others", buildid=1)]
        )
        self.called = database_calls(self, self.master)
        self.steps = self.master.db.steps
        self.logs = self.master.db.logs
        self.builds = self.master.db.builds

    def reads(self, of: str) -> int:
        """The database reads so far of the function named ``of``."""
        return sum(of in name for name in self.called)

    @defer.inlineCallbacks
    def same_as_the_database(self, component: Any, read: str, key: int) -> Generator[Any, Any, Any]:
        """The row ``component.read(key)`` gives, checked against upstream's read."""
        kept = yield getattr(component, read)(key)
        with stock(type(component), read):
            stored = yield getattr(component, read)(key)
        assert kept == stored
        assert kept is not stored
        return kept

    @defer.inlineCallbacks
    def test_a_running_step_is_read_from_memory_as_the_database_holds_it(
        self,
    ) -> Generator[Any, Any, None]:
        updates = self.master.data.updates
        self.reactor.advance(1_700_000_000)
        stepid, _, _ = yield updates.addStep(buildid=1, name="compile")
        yield self.same_as_the_database(self.steps, "getStep", stepid)
        yield updates.startStep(stepid=stepid)
        yield self.same_as_the_database(self.steps, "getStep", stepid)
        self.reactor.advance(3)
        yield updates.set_step_locks_acquired_at(stepid=stepid)
        yield updates.setStepStateString(stepid=stepid, state_string="compiling")
        yield updates.addStepURL(stepid=stepid, name="report", url="http://example/r")
        yield updates.addStepURL(stepid=stepid, name="report", url="http://example/r")
        step = yield self.same_as_the_database(self.steps, "getStep", stepid)
        assert (step.state_string, len(step.urls)) == ("compiling", 1)
        step.urls.clear()  # a reader changing what it was given
        yield self.same_as_the_database(self.steps, "getStep", stepid)
        assert self.reads("getStep") == 4  # only the stock reads: each event was read from memory
        yield updates.finishStep(stepid=stepid, results=2, hidden=True)
        assert self.reads("getStep") == 4  # its finished event too
        step = yield self.same_as_the_database(self.steps, "getStep", stepid)
        assert (step.complete_at, step.results, step.hidden) == (step.locks_acquired_at, 2, True)
        self.reactor.advance(0)  # the turn is over: a finished step is read from the database
        yield self.steps.getStep(stepid)
        assert self.reads("getStep") == 6

    @defer.inlineCallbacks
    def test_a_finish_that_spans_a_second_forgets_the_step(self) -> Generator[Any, Any, None]:
        updates = self.master.data.updates
        stepid, _, _ = yield updates.addStep(buildid=1, name="compile")
        finishing = self.master.db.pool.do_with_transaction

        def a_second_later(*args: Any) -> Any:
            self.reactor.advance(1)
            return finishing(*args)

        cast(Any, self).patch(self.master.db.pool, "do_with_transaction", a_second_later)
        yield updates.finishStep(stepid=stepid, results=0, hidden=False)
        assert self.reads("getStep") == 1  # its finished event, from the database
        yield self.same_as_the_database(self.steps, "getStep", stepid)

    @defer.inlineCallbacks
    def test_a_failed_write_forgets_the_step(self) -> Generator[Any, Any, None]:
        stepid, _, _ = yield self.master.data.updates.addStep(buildid=1, name="compile")

        def failing(*args: Any) -> defer.Deferred[None]:
            return defer.fail(RuntimeError("database is gone"))

        patched = cast(Any, self).patch(self.master.db.pool, "do_with_transaction", failing)
        with pytest.raises(RuntimeError):
            yield self.steps.setStepStateString(stepid=stepid, state_string="compiling")
        patched.restore()
        step = yield self.steps.getStep(stepid)
        assert (step.state_string, self.reads("getStep")) == ("pending", 1)

    @defer.inlineCallbacks
    def test_another_masters_step_is_read_from_the_database(
        self,
    ) -> Generator[Any, Any, None]:
        yield self.steps.setStepStateString(stepid=70, state_string="elsewhere")
        step = yield self.steps.getStep(70)
        assert (step.state_string, self.reads("getStep")) == ("elsewhere", 1)

    @defer.inlineCallbacks
    def test_upstream_reads_a_step_back_after_each_change(self) -> Generator[Any, Any, None]:
        # The canary: once upstream keeps running steps, the mend can go.
        with stock(StepsConnectorComponent, "getStep", "addStep", "setStepStateString"):
            updates = self.master.data.updates
            stepid, _, _ = yield updates.addStep(buildid=1, name="compile")
            yield updates.setStepStateString(stepid=stepid, state_string="compiling")
        assert self.reads("getStep") == 2

    @defer.inlineCallbacks
    def test_a_running_log_is_read_from_memory_as_the_database_holds_it(
        self,
    ) -> Generator[Any, Any, None]:
        updates = self.master.data.updates
        logid = yield updates.addLog(stepid=70, name="stdio", type="s")
        yield updates.appendLog(logid, "one\ntwo\n")
        yield updates.appendLog(logid, "three\n")
        kept = yield self.same_as_the_database(self.logs, "getLog", logid)
        assert (kept.num_lines, self.reads("_getLog")) == (3, 1)
        yield updates.finishLog(logid)
        assert (yield self.same_as_the_database(self.logs, "getLog", logid)).complete
        assert self.reads("_getLog") == 2  # the finish's event too was read from memory
        self.reactor.advance(0)  # the turn is over: a finished log is read from the database
        yield self.logs.getLog(logid)
        assert self.reads("_getLog") == 3

    @defer.inlineCallbacks
    def test_a_running_build_is_read_from_memory_as_the_database_holds_it(
        self,
    ) -> Generator[Any, Any, None]:
        updates = self.master.data.updates
        self.reactor.advance(1_700_000_000.5)
        buildid, _ = yield updates.addBuild(builderid=1, buildrequestid=1, workerid=1)
        yield updates.setBuildStateString(buildid, "building")
        yield updates.add_build_locks_duration(buildid, 4)
        yield updates.add_build_locks_duration(buildid, 3)
        kept = yield self.same_as_the_database(self.builds, "getBuild", buildid)
        assert (kept.locks_duration_s, self.reads("BuildsConnectorComponent._getBuild")) == (7, 1)
        yield updates.finishBuild(buildid, 0)
        assert (yield self.builds.getBuild(buildid)).complete_at is not None
        assert (
            self.reads("BuildsConnectorComponent._getBuild") == 3
        )  # the finish's event and this read

    @defer.inlineCallbacks
    def test_a_build_added_as_a_second_turns_is_read_from_the_database(
        self,
    ) -> Generator[Any, Any, None]:
        seconds = iter([1_700_000_000.9, 1_700_000_001.0])
        cast(Any, self).patch(self.reactor, "seconds", lambda: next(seconds, 1_700_000_001.0))
        buildid, _ = yield self.builds.addBuild(
            builderid=1, buildrequestid=1, workerid=1, masterid=1, state_string="created"
        )
        yield self.builds.getBuild(buildid)
        assert self.reads("BuildsConnectorComponent._getBuild") == 1

    @defer.inlineCallbacks
    def test_a_build_is_kept_around_the_build_properties_mend(
        self,
    ) -> Generator[Any, Any, None]:
        self.reactor.advance(1_700_000_000.5)
        buildid, _ = yield self.builds.addBuild(
            builderid=1, buildrequestid=1, workerid=1, masterid=1, state_string="created"
        )
        assert (yield self.builds.getBuild(buildid)).state_string == "created"
        assert (yield self.builds.getBuildProperties(buildid)) == {}
        assert self.reads("BuildsConnectorComponent._getBuild") == 0
