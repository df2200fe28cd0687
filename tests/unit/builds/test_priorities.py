"""The builders with waiting requests in Buildbot's default order, from one read: the same
order as Buildbot's own sorter, on Buildbot's database layer with real rows."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any

from buildbot.process.builder import Builder
from buildbot.process.buildrequestdistributor import BuildRequestDistributor
from twisted.internet import defer
from twisted.trial import unittest

from config.builds.priorities import prioritize
from tests.fake_master import database_calls, make_master

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    warnings.simplefilter("ignore")
    from buildbot.test import fakedb
    from buildbot.test.reactor import TestReactorMixin

# builder -> (priority, submitted_at) of each waiting request
WAITING = {
    "a-low": [(0, 100), (0, 50)],
    "b-high": [(5, 300), (1, 10)],
    "c-high-newer": [(5, 200)],
    "d-none": [],
    "e-tie": [(0, 50)],
}


class Priorities(TestReactorMixin, unittest.TestCase):
    @defer.inlineCallbacks
    def setUp(self) -> Generator[Any, Any, None]:  # type: ignore[override]
        self.setup_test_reactor()
        self.master = yield make_master(self, wantDb=True, wantData=True)
        rows: list[Any] = [
            fakedb.Master(id=1),
            fakedb.SourceStamp(id=1),
            fakedb.Buildset(id=1),
            fakedb.BuildsetSourceStamp(buildsetid=1, sourcestampid=1),
        ]
        requestid = 1
        for builderid, (name, waiting) in enumerate(sorted(WAITING.items()), start=1):
            rows.append(fakedb.Builder(id=builderid, name=name))
            for priority, submitted_at in waiting:
                rows.append(
                    fakedb.BuildRequest(
                        id=requestid,
                        buildsetid=1,
                        builderid=builderid,
                        priority=priority,
                        submitted_at=submitted_at,
                    )
                )
                requestid += 1
        # Not waiting: a claimed request and a complete one, both of the first priority.
        for builderid, claimed in ((4, True), (5, False)):
            rows.append(
                fakedb.BuildRequest(
                    id=requestid,
                    buildsetid=1,
                    builderid=builderid,
                    priority=9,
                    complete=0 if claimed else 1,
                )
            )
            if claimed:
                rows.append(fakedb.BuildRequestClaim(brid=requestid, masterid=1, claimed_at=1))
            requestid += 1
        yield self.master.db.insert_test_data(rows)
        self.builders = []
        for name in reversed(WAITING):
            builder = Builder(name)
            builder.master = self.master
            yield builder.getBuilderId()
            self.builders.append(builder)

    @defer.inlineCallbacks
    def test_the_order_is_buildbots_default_from_one_read(self) -> Generator[Any, Any, None]:
        distributor = BuildRequestDistributor(self.master.botmaster)
        default = yield distributor._defaultSorter(self.master, list(self.builders))
        called = database_calls(self, self.master)
        ours = yield prioritize(self.master, list(self.builders))
        assert [b.name for b in ours] == [b.name for b in default]
        assert [b.name for b in ours] == ["b-high", "c-high-newer", "a-low", "e-tie", "d-none"]
        assert len(called) == 1

    @defer.inlineCallbacks
    def test_one_builder_needs_no_read(self) -> Generator[Any, Any, None]:
        called = database_calls(self, self.master)
        assert (yield prioritize(self.master, self.builders[:1])) == self.builders[:1]
        assert called == []
