"""A branch's tree-stable timer forgets only the changes it built, and fires under the
scheduler's timer lock, so a change arriving meanwhile waits (``mends/tree_stable.py``).

The database is a real SQLite one with Buildbot's own ``scheduler_changes`` table.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from buildbot.db.model import Model
from twisted.internet import defer

from mends import tree_stable

TABLE = Model.metadata.tables["scheduler_changes"]


def scheduler(engine: sa.Engine, built: list[list[int]]) -> Any:
    """A scheduler (id 7) whose branch ``feature`` waits with changes 3 and 5."""

    def in_transaction(work: Any, *args: Any) -> defer.Deferred[None]:
        with engine.begin() as conn:
            work(conn, *args)
        return defer.succeed(None)

    def add_buildset(**kwargs: Any) -> defer.Deferred[None]:
        built.append(kwargs["changeids"])
        return defer.succeed(None)

    return SimpleNamespace(
        _stable_timers={"feature": object()},
        _stable_timers_lock=defer.DeferredLock(),
        serviceid=7,
        reason="push",
        priority=0,
        getChangeClassificationsForTimer=lambda sid, timer: defer.succeed({3: True, 5: True}),
        addBuildsetForChanges=add_buildset,
        master=SimpleNamespace(
            db=SimpleNamespace(
                model=SimpleNamespace(scheduler_changes=TABLE),
                pool=SimpleNamespace(do_with_transaction=in_transaction),
            )
        ),
    )


def waiting(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return sorted(row.changeid for row in conn.execute(sa.select(TABLE)))


def test_timer_forgets_only_its_branchs_changes_and_waits_for_the_lock() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sa.text("create table changes (changeid integer primary key)"))
        conn.execute(sa.text("create table schedulers (id integer primary key)"))
        TABLE.create(conn)
        # Changes 3 and 5 of feature wait, and change 4 of another branch.
        conn.execute(
            TABLE.insert(), [{"schedulerid": 7, "changeid": n, "important": 1} for n in (3, 4, 5)]
        )
    built: list[list[int]] = []
    mended = scheduler(engine, built)
    held = mended._stable_timers_lock.acquire()  # a change being classified meanwhile
    assert held.called

    fired = tree_stable.stable_timer_fired(mended, "feature")
    assert not fired.called and built == []  # waits for the change's turn

    mended._stable_timers_lock.release()
    assert fired.called
    assert built == [[3, 5]]
    assert waiting(engine) == [4]  # the other branch's change still waits
