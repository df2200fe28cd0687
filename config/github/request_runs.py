"""Each build request's check run: created late enough to spare GitHub a call, in order.

A check run is created when its build starts, already ``in_progress``; only a request
still waiting for a worker :data:`QUEUED_AFTER` seconds after it was made gets its check
run created ``queued`` first (and made ``in_progress`` when its build starts). A build
that starts at once, as most do, so costs GitHub two calls (create, complete) and not
three, and one that waits still shows on the pull request while it waits.

Every call of one request goes to GitHub after the one before it has been answered (the
late ``queued`` one included), so a request never gets two check runs.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from twisted.internet import defer
from twisted.internet.base import DelayedCall
from twisted.python import log

QUEUED_AFTER = 10.0
"""Seconds a build request waits for its build before its check run shows it queued."""

Call = Callable[[str, dict[str, Any], int | None], defer.Deferred[int | None]]
"""A check run call to GitHub: (repository, body, the run or None to create) -> the run's
id, None when refused."""


class RequestRuns:
    """The check runs of the build requests not finished yet; see the module's docstring."""

    def __init__(self, reactor: Any, call: Call, queued_after: float = QUEUED_AFTER) -> None:
        self.reactor = reactor
        self.call = call
        self.queued_after = queued_after
        self.ids: dict[int, int] = {}
        """Build request -> its check run's id, until the check run completes."""
        self.waiting: dict[int, DelayedCall] = {}
        """Build request -> the timer that creates its queued check run."""
        self.turns: dict[int, defer.DeferredLock] = {}

    def requested(self, request: int, repository: str, body: dict[str, Any]) -> None:
        """Creates the request's check run from ``body`` (``queued``) unless its build
        starts (or it ends) within :attr:`queued_after` seconds."""
        if request in self.ids or request in self.waiting:
            return
        self.waiting[request] = self.reactor.callLater(
            self.queued_after, self._queue, request, repository, body
        )

    def adopt(self, request: int, run: int) -> None:
        """Makes ``run``, created before the request was (a triggered builder's while its
        trigger ran), the request's check run: it is not created again, nor queued."""
        self.ids.setdefault(request, run)

    def _queue(self, request: int, repository: str, body: dict[str, Any]) -> None:
        del self.waiting[request]
        sent: Any = self.send(request, repository, [body])
        sent.addErrback(log.err, "queued check run")

    def send(
        self, request: int, repository: str, bodies: list[dict[str, Any]], done: bool = False
    ) -> defer.Deferred[None]:
        """Sends ``bodies`` in order to the request's check run, the first creating it if
        it has none yet; stops at the first refused. ``done``: the last calls of it."""
        timer = self.waiting.pop(request, None)
        if timer is not None:
            timer.cancel()
        turn = self.turns.setdefault(request, defer.DeferredLock())
        sent = turn.run(self._send, request, repository, bodies, done)

        def forget(result: Any) -> Any:
            if not turn.locked and not turn.waiting and self.turns.get(request) is turn:
                del self.turns[request]
            return result

        return sent.addBoth(forget)

    @defer.inlineCallbacks
    def _send(
        self, request: int, repository: str, bodies: list[dict[str, Any]], done: bool
    ) -> Generator[Any, Any, None]:
        run = self.ids.get(request)
        try:
            for body in bodies:
                answered = yield self.call(repository, body, run)
                if answered is None:
                    return
                run = answered
        finally:
            if done:
                self.ids.pop(request, None)
            elif run is not None:
                self.ids[request] = run

    def stop(self) -> None:
        """Drops the timers of the queued check runs not created yet."""
        for timer in self.waiting.values():
            timer.cancel()
        self.waiting.clear()
