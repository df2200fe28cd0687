"""A buildset read in one statement while it runs and from memory once complete, always
as upstream reads it (``mends/buildset_rows.py``), on Buildbot's own database layer."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any

import sqlalchemy as sa
from buildbot.db.buildsets import BuildsetsConnectorComponent
from twisted.internet import defer
from twisted.trial import unittest

from mends import buildset_rows
from tests.fake_master import make_master
from tests.stock import stock

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    warnings.simplefilter("ignore")
    from buildbot.test import fakedb
    from buildbot.test.reactor import TestReactorMixin


class BuildsetRows(TestReactorMixin, unittest.TestCase):
    @defer.inlineCallbacks
    def setUp(self) -> Generator[Any, Any, None]:  # type: ignore[override]
        self.setup_test_reactor()
        buildset_rows.install()
        self.master = yield make_master(self, wantDb=True)
        yield self.master.db.insert_test_data(
            [
                fakedb.Master(id=1),
                fakedb.Builder(id=1, name="tests"),
                fakedb.SourceStamp(id=21, revision="a" * 40),
                fakedb.SourceStamp(id=22, revision="b" * 40),
                fakedb.Buildset(id=5, reason="push", submitted_at=1_700_000_000),
                fakedb.BuildsetSourceStamp(buildsetid=5, sourcestampid=21),
                fakedb.BuildsetSourceStamp(buildsetid=5, sourcestampid=22),
            ]
        )
        self.statements: list[str] = []
        sa.event.listen(self.master.db.pool.engine, "before_cursor_execute", self._counted)
        self.buildsets = self.master.db.buildsets

    def _counted(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @defer.inlineCallbacks
    def same_as_the_database(self, bsid: int) -> Generator[Any, Any, Any]:
        """The buildset as read now, checked against upstream's read of it."""
        read = yield self.buildsets.getBuildset(bsid)
        counted = len(self.statements)
        with stock(BuildsetsConnectorComponent, "getBuildset"):
            stored = yield self.buildsets.getBuildset(bsid)
        del self.statements[counted:]  # upstream's read is not the mend's
        assert read == stored
        return read

    @defer.inlineCallbacks
    def test_a_running_buildset_is_read_in_one_statement(self) -> Generator[Any, Any, None]:
        first = yield self.same_as_the_database(5)
        assert (first.sourcestamps, len(self.statements)) == ([21, 22], 2)  # upstream's read
        first.sourcestamps.append(99)  # a reader changing its copy
        again = yield self.same_as_the_database(5)
        assert (again.sourcestamps, again.complete, len(self.statements)) == ([21, 22], False, 3)

    @defer.inlineCallbacks
    def test_a_complete_buildset_is_read_from_memory(self) -> Generator[Any, Any, None]:
        yield self.buildsets.getBuildset(5)
        self.reactor.advance(1_700_000_100)
        yield self.buildsets.completeBuildset(bsid=5, results=2)
        done = yield self.same_as_the_database(5)
        assert (done.complete, done.results, done.complete_at is not None) == (True, 2, True)
        counted = len(self.statements)
        again = yield self.same_as_the_database(5)
        assert (again, len(self.statements)) == (done, counted)

    @defer.inlineCallbacks
    def test_an_unknown_buildset_is_not_kept(self) -> Generator[Any, Any, None]:
        assert (yield self.buildsets.getBuildset(6)) is None
        assert (yield self.buildsets.getBuildset(6)) is None
        assert len(self.statements) == 2

    @defer.inlineCallbacks
    def test_upstream_reads_a_buildset_in_two_statements_each_time(
        self,
    ) -> Generator[Any, Any, None]:
        # The canary: once upstream keeps buildsets or reads them in one statement, the
        # mend can go.
        with stock(BuildsetsConnectorComponent, "getBuildset"):
            yield self.buildsets.completeBuildset(bsid=5, results=0)
            yield self.buildsets.getBuildset(5)
            yield self.buildsets.getBuildset(5)
        assert len([s for s in self.statements if s.lstrip().upper().startswith("SELECT")]) == 4
