"""Canaries: each runs Buildbot's own code for a defect a mend works around, and fails
once upstream no longer has it, the signal to delete the mend (its docstring says which).

The version guard's tests below fail when a name a mend replaces or relies on changes.
"""

from __future__ import annotations

import threading
from importlib import metadata
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from buildbot.process.botmaster import BotMaster
from buildbot.schedulers.basic import BaseBasicScheduler
from buildbot.worker.protocols import pb
from buildbot.www import rest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.web.test.requesthelper import DummyRequest

import mends
from mends import guard, steps_order
from mends.wrapping import upstream
from tests.stock import stock
from tests.unit.mends.test_build_start import botmaster
from tests.unit.mends.test_tree_stable import scheduler


def test_upstream_writes_rest_answers_from_its_thread() -> None:
    write = upstream(rest.V2RootResource, "_write_json_data").__func__
    request: Any = DummyRequest([b"builders"])
    request.channel = object()
    writers: list[int] = []
    request.write = lambda data: writers.append(threading.get_ident())
    pool_thread = threading.Thread(
        target=write, args=(request, rest.json.JSONEncoder(), {"builders": [1, 2, 3]})
    )
    pool_thread.start()
    pool_thread.join()
    assert writers and set(writers) == {pool_thread.ident}  # not the reactor's thread
    assert len(writers) > 1  # and one write per encoder chunk


def test_upstream_forgets_other_branches_waiting_changes() -> None:
    fired = upstream(BaseBasicScheduler, "stableTimerFired")
    forgotten: list[tuple[int, int | None]] = []

    def flush(schedulerid: int, less_than: int | None = None) -> defer.Deferred[None]:
        forgotten.append((schedulerid, less_than))
        return defer.succeed(None)

    # Changes 3 and 5 of branch feature wait; change 4 of another branch waits too.
    stock_scheduler = scheduler(sa.create_engine("sqlite://"), [])
    stock_scheduler.master.db.schedulers = SimpleNamespace(flushChangeClassifications=flush)
    assert fired(stock_scheduler, "feature").called
    # Every waiting change below 6, so the other branch's change 4 too.
    assert forgotten == [(7, 6)]


def test_upstream_leaves_nagle_on_for_workers() -> None:
    asked: list[str] = []
    transport = SimpleNamespace(
        getPeer=lambda: "127.0.0.1:1",
        setTcpKeepAlive=lambda on: asked.append("keepalive"),
        setTcpNoDelay=lambda on: asked.append("nodelay"),
    )
    mind = SimpleNamespace(broker=SimpleNamespace(transport=transport))
    upstream(pb.Listener, "before_connection_setup")(None, mind, "worker-1")
    assert asked == ["keepalive"]


def test_upstream_waits_a_tenth_of_a_second_after_the_last_request() -> None:
    clock, looked = Clock(), list[list[str]]()
    with stock(BotMaster, "_flush_pending_builders"):
        stock_botmaster = botmaster(clock, looked)
        for builderid in range(5):  # a request every 50 ms
            stock_botmaster._buildrequest_added(None, {"builderid": builderid})
            clock.advance(0.05)
        assert looked == []  # every request restarted the wait
        clock.advance(0.1)
    assert looked == [[f"builder-{n}" for n in range(5)]]


def test_upstream_build_page_asks_for_steps_in_no_order() -> None:
    script = steps_order.bundle()
    assert script.count(steps_order.UNORDERED) == steps_order.CALLS
    assert steps_order.ORDERED not in script
    # Its collections sort only a query with an order.
    assert "applySort(t){const r=this.order;if(r===null)return;" in script


def test_the_mended_bundle_orders_both_step_queries() -> None:
    mended = steps_order.ordered(steps_order.bundle())
    assert steps_order.UNORDERED not in mended
    assert mended.count(steps_order.ORDERED) == steps_order.CALLS
    with pytest.raises(ValueError, match="expected 2 unordered step queries, found 0"):
        steps_order.ordered(mended)


# --- the version guard --------------------------------------------------------------------


@pytest.mark.parametrize("target", guard.targets(mends.NAMES))
def test_every_target_is_the_code_the_mends_were_verified_on(target: str) -> None:
    assert guard.fingerprint(target) == guard.FINGERPRINTS[target]


def test_installed_versions_are_the_verified_ones() -> None:
    assert guard.problem(mends.NAMES) is None


def test_another_twisted_or_sqlalchemy_passes_another_buildbot_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A security release of Twisted or SQLAlchemy changes no fingerprint: the mends run."""
    installed = metadata.version
    others = {"Twisted": "99.1.0", "SQLAlchemy": "9.0.0"}
    monkeypatch.setattr(metadata, "version", lambda name: others.get(name) or installed(name))
    assert guard.problem(mends.NAMES) is None
    others["buildbot"] = "4.3.1"
    assert guard.problem(mends.NAMES) == (
        "mends: verified on buildbot 4.3.0, but 4.3.1 is installed; re-verify them "
        "(mends/guard.py says how) or set buildmaster.mends: false to run stock Buildbot"
    )


def test_a_changed_target_refuses_the_configuration_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = "buildbot.process.botmaster:BotMaster._flush_pending_builders"
    monkeypatch.setitem(guard.FINGERPRINTS, target, "0" * 16)
    with pytest.raises(guard.MendsRefused) as refused:
        mends.install()
    [line] = refused.value.errors
    assert line == (
        f"mends: {target} is not the code the mends were verified on; re-verify them "
        "(mends/guard.py says how) or set buildmaster.mends: false to run stock Buildbot"
    )
    mends.install(enabled=False)  # stock Buildbot needs no guard
    mends.install(off=["build_start"])  # nor a mend left out


def test_every_mend_names_its_target_defect_gain_and_removal() -> None:
    for name in mends.NAMES:
        doc = mends.module(name).__doc__ or ""
        for part in ("Replaces:", "Defect", "Gain:", "Remove when:"):
            assert part in doc, f"mends/{name}.py says nothing under {part!r}"
