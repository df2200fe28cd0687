"""The master's long-lived objects kept out of Python's full garbage collections.

A full collection goes through every object the process holds, and holds every thread
while it does, the reactor's too: on a master of some 200,000 objects (its modules, its
configuration, the web UI) that is 0.1 to 0.2 s the web UI and the workers go unanswered,
whenever enough new objects have piled up (storing a large JUnit report, a burst of
builds). Once the master has started, its objects are frozen (:func:`gc.freeze`): full
collections then go through only what came later. A reconfiguration replaces objects that
were frozen, so they are let go of, collected once, and what remains frozen again.
"""

from __future__ import annotations

import gc
from typing import Any

from buildbot.util.service import BuildbotService
from twisted.internet.base import DelayedCall

SETTLE = 2.0
"""Seconds after the master's (re)configuration that its objects are frozen."""


class LongLivedObjects(BuildbotService):
    """Freezes the master's objects once it has started and after each reconfiguration."""

    name = "long-lived-objects"

    def reconfigServiceWithSibling(self, sibling: Any) -> Any:
        # Called on every reconfiguration, whether or not this service's own arguments
        # changed (they never do): the old configuration's objects are garbage now.
        self._freeze_later(collect=self.configured)
        return super().reconfigServiceWithSibling(sibling)

    pending: DelayedCall | None = None

    def _cancel_pending(self) -> None:
        if self.pending is not None and self.pending.active():
            self.pending.cancel()

    def _freeze_later(self, collect: bool) -> None:
        self._cancel_pending()
        self.pending = self.master.reactor.callLater(SETTLE, self._freeze, collect)

    @staticmethod
    def _freeze(collect: bool) -> None:
        if collect:
            gc.unfreeze()
            gc.collect()
        gc.freeze()

    def stopService(self) -> Any:
        self._cancel_pending()
        return super().stopService()
