"""The pieces a log gets in one moment are written as one, in order, before the log
finishes (``mends/log_batches.py``), on Buildbot's own log classes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from buildbot.process.log import Log
from twisted.internet import defer
from twisted.internet.task import Clock

from mends import log_batches
from mends.wrapping import upstream


class Master:
    """What a log uses of the master: its clock, the data API's log updates, the
    database's background tasks; every call is recorded."""

    def __init__(self) -> None:
        self.reactor = Clock()
        self.calls: list[tuple[str, Any]] = []
        self.held: defer.Deferred[None] | None = None
        self.broken = False
        self.data = SimpleNamespace(
            updates=SimpleNamespace(
                appendLog=self.append, finishLog=self.finish, compressLog=self.compress
            )
        )
        self.db = SimpleNamespace(run_db_task=lambda d: None)

    def append(self, logid: int, content: str) -> defer.Deferred[None]:
        self.calls.append(("append", content))
        if self.broken:
            return defer.fail(RuntimeError("database is gone"))
        return self.held if self.held is not None else defer.succeed(None)

    def finish(self, logid: int) -> defer.Deferred[None]:
        self.calls.append(("finish", logid))
        return defer.succeed(None)

    def compress(self, logid: int) -> defer.Deferred[None]:
        return defer.succeed(None)


def stream_log(master: Master) -> Any:
    return Log.new(master, "stdio", "s", 7, "utf-8")


def test_a_moments_pieces_are_one_write_in_order() -> None:
    log_batches.install()
    master = Master()
    log = stream_log(master)
    for added in (
        log.addHeader("sh -s\n"),
        log.addStderr("+ git fetch\n"),
        log.addStdout("target abc\nbase def\n"),
        log.addHeader("program finished with exit code 0\n"),
    ):
        assert added.called  # the command's next update is not held up
    assert master.calls == []
    master.reactor.advance(0)
    assert master.calls == [
        (
            "append",
            "hsh -s\ne+ git fetch\notarget abc\nobase def\nhprogram finished with exit code 0\n",
        )
    ]


def test_pieces_that_come_during_a_write_follow_it_as_one() -> None:
    log_batches.install()
    master = Master()
    log = stream_log(master)
    master.held = defer.Deferred()
    log.addStdout("one\n")
    master.reactor.advance(0)
    log.addStdout("two\n")
    master.reactor.advance(0)
    log.addStderr("three\n")
    master.reactor.advance(0)
    assert master.calls == [("append", "oone\n")]  # the next waits for the log's lock
    held, master.held = master.held, None
    held.callback(None)
    assert master.calls == [("append", "oone\n"), ("append", "otwo\nethree\n")]


def test_finishing_writes_the_kept_pieces_first() -> None:
    log_batches.install()
    master = Master()
    log = stream_log(master)
    log.addStdout("last line\n")
    log.addStdout("no newline yet")
    finished = log.finish()  # in the same moment: nothing written yet
    master.reactor.advance(0)
    assert finished.called
    assert master.calls == [("append", "olast line\nono newline yet\n"), ("finish", 7)]


def test_a_text_log_made_whole_is_written_once_before_it_finishes() -> None:
    log_batches.install()
    master = Master()
    log = Log.new(master, "err.text", "t", 7, "utf-8")
    log.addContent("one\ntwo\n")
    log.addContent("three, without a newline")
    finished = log.finish()
    assert finished.called
    assert master.calls == [("append", "one\ntwo\nthree, without a newline\n"), ("finish", 7)]


def test_much_output_kept_at_once_is_written_in_bounded_parts() -> None:
    log_batches.install()
    master = Master()
    log = stream_log(master)
    line = "x" * 999 + "\n"
    piece = len("o" + line)  # as kept: with its stream's letter
    pieces = 3 * log_batches.MOST // piece // 2  # a moment of one and a half writes' worth
    for _ in range(pieces):
        log.addStdout(line)
    master.reactor.advance(0)
    first = log_batches.MOST // piece
    assert [len(content) for _, content in master.calls] == [
        first * piece,
        (pieces - first) * piece,
    ]


def test_a_write_that_fails_makes_the_step_see_a_log_with_errors() -> None:
    log_batches.install()
    master = Master()
    log = stream_log(master)
    master.broken = True
    log.addStdout("lost\n")
    master.reactor.advance(0)
    finished = log.finish()
    assert finished.called
    assert log.had_errors()  # the step's end then makes it EXCEPTION, as upstream's


def test_upstream_writes_each_piece_on_its_own() -> None:
    # The canary: once upstream writes a moment's pieces together, the mend can go.
    master = Master()
    log = stream_log(master)
    add = upstream(Log, "addRawLines")
    add(log, "hsh -s\n")
    add(log, "oline\n")
    assert master.calls == [("append", "hsh -s\n"), ("append", "oline\n")]
