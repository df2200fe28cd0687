"""The master's objects are frozen out of full collections once it has started, and let
go of, collected and frozen again after a reconfiguration."""

from __future__ import annotations

import gc
import warnings
import weakref
from collections.abc import Generator
from typing import Any

from twisted.internet import defer
from twisted.trial import unittest

from config.heap import SETTLE, LongLivedObjects
from tests.fake_master import make_master

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    warnings.simplefilter("ignore")
    from buildbot.test.reactor import TestReactorMixin


class Cycle:
    """Garbage only a collection frees (it refers to itself)."""

    def __init__(self) -> None:
        self.me = self


class Frozen(TestReactorMixin, unittest.TestCase):
    def setUp(self) -> Any:
        return self.started()

    @defer.inlineCallbacks
    def started(self) -> Generator[Any, Any, None]:
        self.setup_test_reactor()
        self.addCleanup(gc.unfreeze)
        gc.unfreeze()
        self.master = yield make_master(self)
        self.service = LongLivedObjects()
        yield self.service.setServiceParent(self.master)
        yield self.master.startService()
        self.addCleanup(lambda: self.master.running and self.master.stopService())

    def test_the_started_masters_objects_are_frozen_once_it_settles(self) -> None:
        assert gc.get_freeze_count() == 0
        self.reactor.advance(SETTLE)
        assert gc.get_freeze_count() > 0

    @defer.inlineCallbacks
    def test_a_reconfiguration_lets_go_of_the_old_objects_then_freezes_again(
        self,
    ) -> Generator[Any, Any, None]:
        old = weakref.ref(Cycle())  # garbage already, as the old configuration is
        self.reactor.advance(SETTLE)
        gc.collect()
        assert old() is not None  # frozen: full collections pass it by
        yield self.service.reconfigServiceWithSibling(LongLivedObjects())
        self.reactor.advance(SETTLE)
        assert old() is None
        assert gc.get_freeze_count() > 0

    @defer.inlineCallbacks
    def test_a_stopped_master_freezes_nothing_more(self) -> Generator[Any, Any, None]:
        yield self.master.stopService()
        self.reactor.advance(SETTLE)
        assert gc.get_freeze_count() == 0
