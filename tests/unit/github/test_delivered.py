"""The processed deliveries' ids: kept a week in a bounded number of state values, bounded
per day, and found again by another master on the same database."""

from __future__ import annotations

import warnings
from typing import Any, cast

from twisted.internet import defer
from twisted.trial import unittest

from config.github.delivered import (
    DAY,
    KEEP_DAYS,
    PER_DAY,
    SETTLED,
    Delivered,
    added,
    keys_of,
    slot,
)
from tests.fake_master import make_master

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    from buildbot.test.reactor import TestReactorMixin


def test_an_id_is_held_for_its_day_only() -> None:
    value = added(None, 100, "a")
    assert keys_of(value, 100) == {"a"}
    # Another day that uses the same slot does not see it, and drops it when it adds.
    later = 100 + KEEP_DAYS + 1
    assert slot(later) == slot(100)
    assert keys_of(value, later) == set()
    assert added(value, later, "b") == {"day": later, "ids": ["b"]}


def test_a_day_keeps_its_newest_ids_up_to_the_bound() -> None:
    value: dict[str, Any] | None = None
    for n in range(PER_DAY + 3):
        value = added(value, 7, f"id-{n}")
    assert value is not None
    assert len(value["ids"]) == PER_DAY
    assert "id-2" not in keys_of(value, 7)
    assert {"id-3", f"id-{PER_DAY + 2}"} <= keys_of(value, 7)
    # An id added twice is kept once.
    assert added(value, 7, "id-3")["ids"].count("id-3") == 1


def test_the_slots_are_bounded() -> None:
    assert len({slot(day) for day in range(1000)}) == KEEP_DAYS + 1


class DeliveredInTheDatabase(TestReactorMixin, unittest.TestCase):
    def setUp(self) -> Any:
        self.setup_test_reactor()
        self.reactor.advance(1000 * DAY + 3600)
        made = make_master(self, wantDb=True)
        return made.addCallback(lambda master: setattr(self, "master", master))

    @defer.inlineCallbacks
    def test_a_processed_id_is_seen_for_a_week_then_forgotten(self) -> Any:
        delivered = Delivered(self.master)
        assert not (yield delivered.seen("abc"))
        yield delivered.record("abc")
        yield delivered.record("def")

        # Another master on the same database (or this one restarted) sees both.
        again = Delivered(self.master)
        assert (yield again.seen("abc")) and (yield again.seen("def"))
        assert not (yield again.seen("ghi"))

        self.reactor.advance(KEEP_DAYS * DAY)
        assert (yield again.seen("abc"))
        self.reactor.advance(DAY)
        assert not (yield again.seen("abc"))

    @defer.inlineCallbacks
    def test_ids_recorded_at_once_are_all_kept(self) -> Any:
        delivered = Delivered(self.master)
        yield defer.gatherResults([delivered.record(f"id-{n}") for n in range(20)])
        seen = yield defer.gatherResults([delivered.seen(f"id-{n}") for n in range(20)])
        assert seen == [True] * 20

    @defer.inlineCallbacks
    def test_a_settled_day_is_read_once_and_a_recent_one_each_time(self) -> Any:
        delivered = Delivered(self.master)
        yield delivered.record("yesterday")
        objectid = yield self.master.db.state.getObjectId(
            "github-deliveries", "config.github.delivered.Delivered"
        )
        reads: list[str] = []
        read = self.master.db.state.getState

        def counted(objectid: int, name: str, default: Any = None) -> Any:
            reads.append(name)
            return read(objectid, name, default)

        cast(Any, self).patch(self.master.db.state, "getState", counted)
        # Just after the day's end, a master whose clock is behind still adds to it: each
        # look reads it again.
        self.reactor.advance(DAY - 3600 + 10)
        day = yield read(objectid, slot(1000))
        yield self.master.db.state.setState(objectid, slot(1000), added(day, 1000, "late"))
        assert (yield delivered.seen("late")) and (yield delivered.seen("late"))
        assert reads.count(slot(1000)) == 2
        # Once it is settled: read once more, and never again; today's is read each time.
        self.reactor.advance(SETTLED)
        reads.clear()
        for _ in range(3):
            assert (yield delivered.seen("late")) and (yield delivered.seen("yesterday"))
            assert not (yield delivered.seen("unknown"))
        assert reads.count(slot(1000)) == 1
        assert reads.count(slot(1001)) == 3
        assert len(reads) == 1 + 3

    @defer.inlineCallbacks
    def test_a_clock_set_back_makes_a_settled_day_recent_again(self) -> Any:
        delivered = Delivered(self.master)
        yield delivered.record("first")
        self.reactor.advance(DAY + SETTLED)
        assert (yield delivered.seen("first"))  # its day is settled: kept from now on
        self.reactor.rightNow -= DAY  # the clock is set back into that day
        yield Delivered(self.master).record("second")  # on another master, to that day
        assert (yield delivered.seen("second"))
