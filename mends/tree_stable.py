"""A tree-stable scheduler forgets only the changes it built.

Replaces: ``buildbot.schedulers.basic.BaseBasicScheduler.stableTimerFired``.

Defect: when one branch's tree-stable timer fires, Buildbot 4.3 builds that branch's
waiting changes and then forgets every waiting change of every branch with a lower change
id (``flushChangeClassifications(less_than=...)``): a branch whose timer had not fired
yet then builds an older commit, or nothing at all. Seen with many branches pushed at
once (the load suite lost 4 of 200 pushes). No upstream issue yet.

Mend: the same steps under upstream's ``_stable_timers_lock`` (so a change arriving while
a timer fires waits for it, as upstream's ``gotChange`` does), forgetting only the
changes just built.

Gain: correctness: ``tests/integration/test_load.py`` loses pushes without it.

Remove when: upstream forgets only the built changes (the canary
``test_upstream_forgets_other_branches_waiting_changes`` then fails).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot import util
from buildbot.schedulers.basic import BaseBasicScheduler
from twisted.internet import defer

from mends.wrapping import replace

TARGETS = (
    "buildbot.schedulers.basic:BaseBasicScheduler.stableTimerFired",
    "buildbot.schedulers.basic:BaseBasicScheduler.gotChange",
    "buildbot.schedulers.basic:BaseBasicScheduler.__init__",
    "buildbot.db.schedulers:SchedulersConnectorComponent.flushChangeClassifications",
)


@util.deferredLocked("_stable_timers_lock")
@defer.inlineCallbacks
def stable_timer_fired(self: Any, timer_name: Any) -> Generator[Any, Any, None]:
    if not self._stable_timers.pop(timer_name, None):
        return  # stopped meanwhile
    classifications = yield self.getChangeClassificationsForTimer(self.serviceid, timer_name)
    if not classifications:
        return
    changeids = sorted(classifications)
    yield self.addBuildsetForChanges(
        reason=self.reason, changeids=changeids, priority=self.priority
    )
    yield self.master.db.pool.do_with_transaction(forget, self, changeids)


def forget(conn: Any, scheduler: Any, changeids: list[int]) -> None:
    """In the database thread: forget the scheduler's classifications of ``changeids``."""
    table = scheduler.master.db.model.scheduler_changes
    where = (table.c.schedulerid == scheduler.serviceid) & table.c.changeid.in_(changeids)
    conn.execute(table.delete().where(where)).close()


def install() -> None:
    replace(BaseBasicScheduler, "stableTimerFired", lambda _: stable_timer_fired)
