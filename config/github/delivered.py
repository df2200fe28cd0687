"""The keys of the deliveries already processed, so that a redelivery builds nothing twice.

GitHub's "Redeliver" button (and any sender that retries) sends a delivery again with the
same ``X-GitHub-Delivery`` id. That header is not signed: a copy of a signed body sent
again under a new id is told by the body's digest, the delivery's other key
(:meth:`config.github.spool.Delivery.keys`). GitHub's bodies carry the time of what they
report (a push's ``pushed_at``, a pull request's ``updated_at``), so two events never share
a body. The keys processed in the last :data:`KEEP_DAYS` days are
kept in the database's state table (Buildbot's public ``master.db.state``), where every
master of a cluster and a restarted master find them: one value per day, in
``KEEP_DAYS + 1`` slots used in turn, so the table never holds more than that many values;
each day keeps at most :data:`PER_DAY` ids (past that, its oldest are forgotten). GitHub
lets a delivery be redelivered for 3 days.

A day long gone (:data:`SETTLED`) gets no new keys on any master, so each master reads
it once and keeps its keys in memory: a delivery reads today's value only, not the whole
week's, whose size grows with the deliveries of the week.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer

KEEP_DAYS = 7
PER_DAY = 10000
DAY = 24 * 3600
SETTLED = 3600
"""How long after a day's end its keys are still read from the database: a master whose
clock is behind ours may add to it meanwhile; no master does later (the masters of one
database keep their clocks within minutes of each other, as their build times assume)."""


def slot(day: int) -> str:
    """The state value that holds the ids of ``day`` (days since the epoch)."""
    return f"delivered:{day % (KEEP_DAYS + 1)}"


def kept_days(now: float) -> range:
    """The days whose ids still count at ``now``: today and the :data:`KEEP_DAYS` before."""
    today = int(now // DAY)
    return range(today - KEEP_DAYS, today + 1)


def keys_of(value: Any, day: int) -> frozenset[str]:
    """The keys a slot's value holds for ``day`` (none of an older day that used the same
    slot)."""
    return frozenset(value.get("ids", [])) if value and value.get("day") == day else frozenset()


def added(value: Any, day: int, *keys: str) -> dict[str, Any]:
    """A slot's value with ``keys`` added to ``day``'s: an older day's keys are dropped,
    and past :data:`PER_DAY` the oldest."""
    ids = list(value["ids"]) if value and value.get("day") == day else []
    ids += [key for key in dict.fromkeys(keys) if key not in ids]
    return {"day": day, "ids": ids[-PER_DAY:]}


class Delivered:
    """The processed deliveries' keys in one master's database; see the module's docstring."""

    def __init__(self, master: Any) -> None:
        self.master = master
        self.lock = defer.DeferredLock()
        self._objectid: int | None = None
        self._settled: dict[int, frozenset[str]] = {}
        """The keys of the kept days that are :data:`SETTLED`, by day."""

    @defer.inlineCallbacks
    def _object(self) -> Generator[Any, Any, int]:
        if self._objectid is None:
            self._objectid = yield self.master.db.state.getObjectId(
                "github-deliveries", "config.github.delivered.Delivered"
            )
        return self._objectid

    @defer.inlineCallbacks
    def seen(self, *keys: str) -> Generator[Any, Any, bool]:
        """Whether a delivery with any of ``keys`` was processed in the last
        :data:`KEEP_DAYS` days."""
        objectid = yield self._object()
        now = self.master.reactor.seconds()
        days = kept_days(now)
        self._settled = {day: found for day, found in self._settled.items() if day in days}
        for day in days:
            # Asked at each look: a clock set back makes a settled day recent again.
            settled = (day + 1) * DAY + SETTLED <= now
            found = self._settled.get(day) if settled else None
            if found is None:
                value = yield self.master.db.state.getState(objectid, slot(day), None)
                found = keys_of(value, day)
                if settled:
                    self._settled[day] = found
            if not found.isdisjoint(keys):
                return True
        return False

    def record(self, *keys: str) -> defer.Deferred[None]:
        """Remember that the delivery of ``keys`` was processed (one change at a time on
        this master)."""
        return self.lock.run(self._record, keys)

    @defer.inlineCallbacks
    def _record(self, keys: tuple[str, ...]) -> Generator[Any, Any, None]:
        objectid = yield self._object()
        today = kept_days(self.master.reactor.seconds())[-1]
        value = yield self.master.db.state.getState(objectid, slot(today), None)
        yield self.master.db.state.setState(objectid, slot(today), added(value, today, *keys))
