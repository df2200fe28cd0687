"""The webhook answers in time: ``first_of`` between storing a delivery's changes and
GitHub's patience."""

from __future__ import annotations

import pytest
from twisted.internet import defer, task
from twisted.python.failure import Failure

from config.github.webhook import first_of


def outcome(answer: defer.Deferred[str]) -> list[object]:
    seen: list[object] = []
    answer.addBoth(seen.append)
    return seen


def test_work_done_in_time_is_the_answer() -> None:
    clock = task.Clock()
    work: defer.Deferred[str] = defer.Deferred()
    seen = outcome(first_of(clock, work, 5, "late"))
    clock.advance(4)
    work.callback("1 of 1 pushed commits to build")
    assert seen == ["1 of 1 pushed commits to build"]
    clock.advance(10)
    assert seen == ["1 of 1 pushed commits to build"]


def test_a_refusal_in_time_is_the_answer() -> None:
    clock = task.Clock()
    work: defer.Deferred[str] = defer.Deferred()
    seen = outcome(first_of(clock, work, 5, "late"))
    work.errback(ValueError("Push payload is incomplete"))
    [failure] = seen
    assert isinstance(failure, Failure) and isinstance(failure.value, ValueError)


def test_slow_work_is_answered_late_and_still_finishes() -> None:
    clock = task.Clock()
    work: defer.Deferred[str] = defer.Deferred()
    seen = outcome(first_of(clock, work, 5, "late"))
    clock.advance(5)
    assert seen == ["late"]
    stored: list[str] = []
    work.addCallback(stored.append)
    work.callback("stored as change 3")
    assert stored == ["stored as change 3"] and seen == ["late"]


@pytest.mark.parametrize("seconds", [0.5, 5])
def test_nothing_is_answered_before_its_time(seconds: float) -> None:
    clock = task.Clock()
    seen = outcome(first_of(clock, defer.Deferred(), seconds, "late"))
    clock.advance(seconds * 0.99)
    assert seen == []
    clock.advance(seconds * 0.02)
    assert seen == ["late"]
