"""The ids of the deliveries already processed, so that a redelivery builds nothing twice.

GitHub's "Redeliver" button (and any sender that retries) sends a delivery again with the
same ``X-GitHub-Delivery`` id. The ids processed in the last :data:`KEEP_DAYS` days are
kept in the database's state table (Buildbot's public ``master.db.state``), where every
master of a cluster and a restarted master find them: one value per day, in
``KEEP_DAYS + 1`` slots used in turn, so the table never holds more than that many values;
each day keeps at most :data:`PER_DAY` ids (past that, its oldest are forgotten). GitHub
lets a delivery be redelivered for 3 days.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer

KEEP_DAYS = 7
PER_DAY = 5000
DAY = 24 * 3600


def slot(day: int) -> str:
    """The state value that holds the ids of ``day`` (days since the epoch)."""
    return f"delivered:{day % (KEEP_DAYS + 1)}"


def kept_days(now: float) -> range:
    """The days whose ids still count at ``now``: today and the :data:`KEEP_DAYS` before."""
    today = int(now // DAY)
    return range(today - KEEP_DAYS, today + 1)


def holds(value: Any, day: int, delivery: str) -> bool:
    """Whether a slot's value holds ``delivery`` among the ids of ``day`` (and not of an
    older day that used the same slot)."""
    return bool(value) and value.get("day") == day and delivery in value.get("ids", [])


def added(value: Any, day: int, delivery: str) -> dict[str, Any]:
    """A slot's value with ``delivery`` added to ``day``'s ids: an older day's ids are
    dropped, and past :data:`PER_DAY` the oldest."""
    ids = list(value["ids"]) if value and value.get("day") == day else []
    if delivery not in ids:
        ids.append(delivery)
    return {"day": day, "ids": ids[-PER_DAY:]}


class Delivered:
    """The processed deliveries' ids of one master's database; see the module's docstring."""

    def __init__(self, master: Any) -> None:
        self.master = master
        self.lock = defer.DeferredLock()
        self._objectid: int | None = None

    @defer.inlineCallbacks
    def _object(self) -> Generator[Any, Any, int]:
        if self._objectid is None:
            self._objectid = yield self.master.db.state.getObjectId(
                "github-deliveries", "config.github.delivered.Delivered"
            )
        return self._objectid

    @defer.inlineCallbacks
    def seen(self, delivery: str) -> Generator[Any, Any, bool]:
        """Whether ``delivery`` was processed in the last :data:`KEEP_DAYS` days."""
        objectid = yield self._object()
        for day in kept_days(self.master.reactor.seconds()):
            value = yield self.master.db.state.getState(objectid, slot(day), None)
            if holds(value, day, delivery):
                return True
        return False

    def record(self, delivery: str) -> defer.Deferred[None]:
        """Remember that ``delivery`` was processed (one change at a time on this master)."""
        return self.lock.run(self._record, delivery)

    @defer.inlineCallbacks
    def _record(self, delivery: str) -> Generator[Any, Any, None]:
        objectid = yield self._object()
        today = kept_days(self.master.reactor.seconds())[-1]
        value = yield self.master.db.state.getState(objectid, slot(today), None)
        yield self.master.db.state.setState(objectid, slot(today), added(value, today, delivery))
