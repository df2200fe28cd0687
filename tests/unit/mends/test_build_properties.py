"""A build's properties are written together and read from memory on the master running
it (``mends/build_properties.py``), on Buildbot's own data API and database layer."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator
from types import SimpleNamespace
from typing import Any, cast

import pytest
import sqlalchemy as sa
from buildbot.db.builds import BuildsConnectorComponent
from buildbot.process.properties import Properties
from buildbot.process.results import EXCEPTION
from twisted.internet import defer
from twisted.trial import unittest

from mends import build_properties
from tests.fake_master import database_calls, make_master, one_build
from tests.stock import stock

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    warnings.simplefilter("ignore")
    from buildbot.test.reactor import TestReactorMixin

OTHERS = 50
"""A build another master runs (inserted, not added here)."""


class BuildProperties(TestReactorMixin, unittest.TestCase):
    @defer.inlineCallbacks
    def setUp(self) -> Generator[Any, Any, None]:  # type: ignore[override]
        self.setup_test_reactor()
        build_properties.install()
        self.master = yield make_master(self, wantDb=True, wantData=True)
        yield self.master.db.insert_test_data(one_build(OTHERS))
        self.called = database_calls(self, self.master)
        self.builds = self.master.db.builds

    def add_build(self) -> Any:
        return self.builds.addBuild(
            builderid=1, buildrequestid=1, workerid=1, masterid=1, state_string="created"
        )

    def flush(self, buildid: int, **values: Any) -> Any:
        properties = Properties()
        for name, value in values.items():
            properties.setProperty(name, value, "test")
        return self.master.data.updates.setBuildProperties(buildid, properties)

    @defer.inlineCallbacks
    def in_database(self, buildid: int) -> Generator[Any, Any, Any]:
        with stock(BuildsConnectorComponent, "getBuildProperties"):
            return (yield self.builds.getBuildProperties(buildid))

    @defer.inlineCallbacks
    def test_a_flush_is_one_transaction_and_read_from_memory(
        self,
    ) -> Generator[Any, Any, None]:
        buildid, _ = yield self.add_build()
        self.called.clear()
        yield self.flush(buildid, branch="main", revision="abc", tries=[1, 2])
        assert len(self.called) == 0  # nothing read (a new build has none), nothing written yet
        self.reactor.advance(0)
        assert len(self.called) == 1
        read = yield self.builds.getBuildProperties(buildid)
        assert read == {
            "branch": ("main", "test"),
            "revision": ("abc", "test"),
            "tries": ([1, 2], "test"),
        }
        read["tries"][0].append(3)  # a reader changing what it was given
        yield self.flush(buildid, branch="main", revision="def", tries=[1, 2])
        self.reactor.advance(0)
        assert len(self.called) == 2  # one more write, of the revision only: no reads
        assert (yield self.in_database(buildid)) == {
            "branch": ("main", "test"),
            "revision": ("def", "test"),
            "tries": ([1, 2], "test"),
        }

    @defer.inlineCallbacks
    def test_another_masters_build_is_read_after_what_was_written_of_it(
        self,
    ) -> Generator[Any, Any, None]:
        yield self.builds.setBuildProperty(OTHERS, "branch", "main", "test")
        read = self.builds.getBuildProperties(OTHERS)
        assert not read.called  # it waits for the write
        self.reactor.advance(0)
        assert (yield read) == {"branch": ("main", "test")}
        yield self.builds.getBuildProperties(OTHERS)
        assert len(self.called) == 3  # the write and both reads

    @defer.inlineCallbacks
    def test_writes_go_in_order_one_at_a_time(self) -> Generator[Any, Any, None]:
        held: defer.Deferred[None] = defer.Deferred()
        do = self.master.db.pool.do

        def holding_the_first(*args: Any) -> Any:
            cast(Any, self).patch(self.master.db.pool, "do", do)
            return held.addCallback(lambda _: do(*args))

        cast(Any, self).patch(self.master.db.pool, "do", holding_the_first)
        yield self.builds.setBuildProperty(OTHERS, "revision", "abc", "test")
        self.reactor.advance(0)
        yield self.builds.setBuildProperty(OTHERS, "revision", "def", "test")
        self.reactor.advance(0)  # the second waits for the first
        read = self.builds.getBuildProperties(OTHERS)
        held.callback(None)
        assert (yield read) == {"revision": ("def", "test")}

    @defer.inlineCallbacks
    def test_the_state_and_the_finish_are_written_after_the_properties(
        self,
    ) -> Generator[Any, Any, None]:
        buildid, _ = yield self.add_build()
        writes: tuple[Callable[[], Any], ...] = (
            lambda: self.builds.setBuildStateString(buildid=buildid, state_string="starting"),
            lambda: self.builds.finishBuild(buildid=buildid, results=0),
        )
        for step, write in enumerate(writes):
            self.called.clear()
            yield self.flush(buildid, step=step)
            written = write()
            assert self.called == []  # it waits for the properties
            self.reactor.advance(0)
            yield written
            assert self.called[0].endswith("_thd_write"), self.called

    @defer.inlineCallbacks
    def test_the_database_stops_after_the_last_batch(self) -> Generator[Any, Any, None]:
        tasks: list[defer.Deferred[None]] = []
        cast(Any, self).patch(self.master.db, "run_db_task", tasks.append)
        yield self.builds.setBuildProperty(OTHERS, "branch", "main", "test")
        yield self.builds.setBuildProperty(OTHERS, "revision", "abc", "test")
        [task] = tasks
        assert not task.called
        self.reactor.advance(0)
        assert task.called
        assert (yield self.in_database(OTHERS)) == {
            "branch": ("main", "test"),
            "revision": ("abc", "test"),
        }

    @defer.inlineCallbacks
    def test_a_failed_write_fails_the_builds_next_write_and_no_other_build(
        self,
    ) -> Generator[Any, Any, None]:
        buildid, _ = yield self.add_build()
        write = build_properties._thd_write_build

        def failing_for_the_new_build(conn: Any, table: Any, bid: int, rows: Any) -> None:
            if bid == buildid:
                raise RuntimeError("a row the database refused")
            write(conn, table, bid, rows)

        cast(Any, self).patch(build_properties, "_thd_write_build", failing_for_the_new_build)
        yield self.flush(buildid, branch="main")
        yield self.builds.setBuildProperty(OTHERS, "branch", "main", "test")
        self.reactor.advance(0)
        assert (yield self.in_database(OTHERS)) == {"branch": ("main", "test")}
        assert (yield self.builds.getBuildProperties(buildid)) == {}  # what the database holds
        cast(Any, self).patch(build_properties, "_thd_write_build", write)
        with pytest.raises(RuntimeError):
            yield self.flush(buildid, branch="main")  # fails the build, as upstream's would
        yield self.flush(buildid, branch="main")  # the build's flush after its failure
        self.reactor.advance(0)
        assert (yield self.in_database(buildid)) == {"branch": ("main", "test")}

    @defer.inlineCallbacks
    def test_a_build_whose_last_write_failed_finishes_in_exception(
        self,
    ) -> Generator[Any, Any, None]:
        buildid, _ = yield self.add_build()

        def failing(*args: Any) -> None:
            raise RuntimeError("a row the database refused")

        cast(Any, self).patch(build_properties, "_thd_write_build", failing)
        yield self.flush(buildid, branch="main")
        finished = self.builds.finishBuild(buildid=buildid, results=0)
        self.reactor.advance(0)
        yield finished
        with stock(BuildsConnectorComponent, "getBuild"):
            assert (yield self.builds.getBuild(buildid)).results == EXCEPTION

    @defer.inlineCallbacks
    def test_a_value_the_database_cannot_hold_fails_its_write(
        self,
    ) -> Generator[Any, Any, None]:
        with pytest.raises(TypeError):
            yield self.builds.setBuildProperty(OTHERS, "when", object(), "test")

    @defer.inlineCallbacks
    def test_upstream_writes_each_property_in_a_transaction_of_its_own(
        self,
    ) -> Generator[Any, Any, None]:
        # The canary: once upstream writes a flush together, the mend can go.
        with stock(BuildsConnectorComponent, "setBuildProperty", "getBuildProperties"):
            yield self.flush(OTHERS, branch="main", revision="abc", tries=3)
        assert len(self.called) == 4  # a read, then three transactions

    @defer.inlineCallbacks
    def test_a_step_ends_after_the_properties_and_fails_with_their_write(
        self,
    ) -> Generator[Any, Any, None]:
        buildid, _ = yield self.add_build()
        ended: list[int] = []

        def step_done(build: Any, results: int, step: Any) -> defer.Deferred[bool]:
            ended.append(results)
            return defer.succeed(False)

        step_done_after = build_properties._stepping_after_properties(step_done)
        build = SimpleNamespace(master=self.master, buildid=buildid)
        yield self.flush(buildid, branch="main")
        done = step_done_after(build, 0, None)
        assert ended == []  # the properties first
        self.reactor.advance(0)
        yield done
        assert ended == [0]

        def refused(conn: Any, table: Any, bid: int, rows: Any) -> None:
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

        cast(Any, self).patch(build_properties, "_thd_write_build", refused)
        yield self.flush(buildid, branch="feature")
        done = step_done_after(build, 0, None)
        self.reactor.advance(0)
        with pytest.raises(sa.exc.OperationalError):  # as upstream's flush would have
            yield done
        assert ended == [0]

    @defer.inlineCallbacks
    def test_a_batch_whose_call_failed_fails_each_of_its_builds(
        self,
    ) -> Generator[Any, Any, None]:
        buildid, _ = yield self.add_build()

        def gone(*args: Any) -> defer.Deferred[None]:
            return defer.fail(RuntimeError("the database's thread pool is gone"))

        patched = cast(Any, self).patch(self.master.db.pool, "do", gone)
        yield self.flush(buildid, branch="main")
        yield self.builds.setBuildProperty(OTHERS, "branch", "main", "test")
        self.reactor.advance(0)
        patched.restore()
        assert len(cast(Any, self).flushLoggedErrors(RuntimeError)) == 1
        for failed in (buildid, OTHERS):
            with pytest.raises(RuntimeError):
                yield self.builds.setBuildProperty(failed, "branch", "main", "test")
