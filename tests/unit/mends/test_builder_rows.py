"""A builder's row is read once a second at most, handed out as copies, and forgotten by
this master's writes (``mends/builder_rows.py``), on Buildbot's own database layer."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any

from buildbot.db.builders import BuildersConnectorComponent
from twisted.internet import defer
from twisted.trial import unittest

from mends import builder_rows
from mends.wrapping import upstream
from tests.fake_master import database_calls, make_master

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    warnings.simplefilter("ignore")
    from buildbot.test import fakedb
    from buildbot.test.reactor import TestReactorMixin


class BuilderRows(TestReactorMixin, unittest.TestCase):
    @defer.inlineCallbacks
    def setUp(self) -> Generator[Any, Any, None]:  # type: ignore[override]
        self.setup_test_reactor()
        builder_rows.install()
        self.master = yield make_master(self, wantDb=True)
        yield self.master.db.insert_test_data(
            [fakedb.Master(id=1), fakedb.Builder(id=1, name="tests", description="old")]
        )
        self.called = database_calls(self, self.master)

    @defer.inlineCallbacks
    def test_a_row_is_read_once_a_second_and_given_as_copies(self) -> Generator[Any, Any, None]:
        builders = self.master.db.builders
        first = yield builders.getBuilder(1)
        first.masterids.append(99)  # a reader changing its copy
        again = yield builders.getBuilder(1)
        assert (len(self.called), again.name, again.masterids) == (1, "tests", [])
        assert (yield builders.getBuilder(2)) is None
        assert (yield builders.getBuilder(2)) is None  # an unknown id is not kept
        assert len(self.called) == 3
        self.reactor.advance(builder_rows.FOR)
        yield builders.getBuilder(1)
        assert len(self.called) == 4

    @defer.inlineCallbacks
    def test_this_masters_writes_are_seen_at_once(self) -> Generator[Any, Any, None]:
        builders = self.master.db.builders
        assert (yield builders.getBuilder(1)).masterids == []
        yield builders.addBuilderMaster(builderid=1, masterid=1)
        assert (yield builders.getBuilder(1)).masterids == [1]
        yield builders.updateBuilderInfo(1, "new", None, None, None, ["slow"])
        changed = yield builders.getBuilder(1)
        assert (changed.description, changed.tags) == ("new", ["slow"])
        yield builders.removeBuilderMaster(builderid=1, masterid=1)
        assert (yield builders.getBuilder(1)).masterids == []

    @defer.inlineCallbacks
    def test_upstream_reads_a_builder_each_time(self) -> Generator[Any, Any, None]:
        # The canary: once upstream keeps builder rows, the mend can go.
        read = upstream(BuildersConnectorComponent, "getBuilder")
        yield read(self.master.db.builders, 1)
        yield read(self.master.db.builders, 1)
        assert len(self.called) == 2
