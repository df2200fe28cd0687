"""A build request's check run: created as its build starts, queued only when it waits,
its calls one after the other, on a clock the test moves."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.task import Clock

from config.github.request_runs import QUEUED_AFTER, RequestRuns

QUEUED = {"name": "buildbot/b", "head_sha": "abc", "status": "queued"}
STARTED = {**QUEUED, "status": "in_progress"}
COMPLETED = {**QUEUED, "status": "completed", "conclusion": "success"}
MORE = {"output": {"annotations": ["..."]}}


class GitHub:
    """Records each call; answers them when told (the first created run is 7)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, int | None]] = []
        self.unanswered: list[tuple[defer.Deferred[int | None], int | None]] = []

    def call(self, repository: str, body: dict[str, Any], run: int | None) -> Any:
        assert repository == "o/r"
        self.calls.append((body.get("status"), run))
        answer: defer.Deferred[int | None] = defer.Deferred()
        self.unanswered.append((answer, run))
        return answer

    def answer(self, refused: bool = False) -> None:
        while self.unanswered:
            answer, run = self.unanswered.pop(0)
            answer.callback(None if refused else (run or 7))


def runs() -> tuple[RequestRuns, GitHub, Clock]:
    clock, github = Clock(), GitHub()
    return RequestRuns(clock, github.call), github, clock


def test_a_build_that_starts_at_once_costs_two_calls() -> None:
    requests, github, clock = runs()
    requests.requested(1, "o/r", QUEUED)
    clock.advance(QUEUED_AFTER / 2)
    requests.send(1, "o/r", [STARTED])
    github.answer()
    clock.advance(QUEUED_AFTER * 2)  # the queued check run is never created
    done = requests.send(1, "o/r", [COMPLETED, MORE], done=True)
    github.answer()
    github.answer()
    assert done.called
    assert github.calls == [("in_progress", None), ("completed", 7), (None, 7)]
    assert (requests.ids, requests.waiting, requests.turns) == ({}, {}, {})


def test_a_request_that_waits_shows_queued_then_in_progress() -> None:
    requests, github, clock = runs()
    requests.requested(1, "o/r", QUEUED)
    requests.requested(1, "o/r", QUEUED)  # said twice: still one check run
    clock.advance(QUEUED_AFTER)
    assert github.calls == [("queued", None)]
    github.answer()
    requests.send(1, "o/r", [STARTED])
    github.answer()
    requests.send(1, "o/r", [COMPLETED], done=True)
    github.answer()
    assert github.calls == [("queued", None), ("in_progress", 7), ("completed", 7)]
    assert requests.ids == {}


def test_a_start_while_the_queued_run_is_created_waits_for_its_id() -> None:
    requests, github, clock = runs()
    requests.requested(1, "o/r", QUEUED)
    clock.advance(QUEUED_AFTER)
    started = requests.send(1, "o/r", [STARTED])
    assert github.calls == [("queued", None)]  # the start waits for the create's answer
    github.answer()
    assert github.calls == [("queued", None), ("in_progress", 7)]
    github.answer()
    assert started.called


def test_a_request_cancelled_before_its_build_is_one_completed_run() -> None:
    requests, github, clock = runs()
    requests.requested(1, "o/r", QUEUED)
    requests.send(1, "o/r", [COMPLETED], done=True)
    github.answer()
    clock.advance(QUEUED_AFTER * 2)
    assert github.calls == [("completed", None)]
    assert (requests.ids, requests.waiting) == ({}, {})


def test_a_refused_call_stops_the_batches_and_keeps_the_run() -> None:
    requests, github, _ = runs()
    requests.send(1, "o/r", [STARTED])
    github.answer()
    requests.send(1, "o/r", [{"output": {}}])
    github.answer(refused=True)
    assert requests.ids == {1: 7}
    requests.send(1, "o/r", [COMPLETED, MORE], done=True)
    github.answer(refused=True)
    assert github.calls == [("in_progress", None), (None, 7), ("completed", 7)]
    assert requests.ids == {}


def test_stopping_drops_the_queued_runs_not_created() -> None:
    requests, github, clock = runs()
    requests.requested(1, "o/r", QUEUED)
    requests.requested(2, "o/r", QUEUED)
    requests.stop()
    clock.advance(QUEUED_AFTER * 2)
    assert github.calls == []


def test_an_adopted_check_run_is_neither_created_again_nor_queued() -> None:
    requests, github, clock = runs()
    requests.adopt(1, 42)  # a triggered builder's, made while its trigger ran
    requests.requested(1, "o/r", QUEUED)
    clock.advance(QUEUED_AFTER * 2)
    assert github.calls == []
    requests.send(1, "o/r", [STARTED])
    github.answer()
    requests.send(1, "o/r", [COMPLETED], done=True)
    github.answer()
    assert github.calls == [("in_progress", 42), ("completed", 42)]
    assert requests.ids == {}
