"""Log pieces are queued; those of one reactor turn, and those queued while an append is
under way, go as one append, and the log finishes only after every piece is written.

The database is a recorder behind the data API calls a log makes; every build of the
integration suites reads its logs back through the real one.
"""

from __future__ import annotations

from types import SimpleNamespace

from buildbot.process import log
from twisted.internet import defer
from twisted.internet.task import Clock

from mends import log_writes


class Updates:
    """``master.data.updates`` for a log, answering each append when the test says."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.pending: list[defer.Deferred[None]] = []

    def appendLog(self, logid: int, content: str) -> defer.Deferred[None]:
        self.calls.append(content)
        self.pending.append(defer.Deferred())
        return self.pending[-1]

    def finishLog(self, logid: int) -> defer.Deferred[None]:
        self.calls.append("finished")
        return defer.succeed(None)

    def compressLog(self, logid: int) -> defer.Deferred[None]:
        return defer.succeed(None)


def stream_log(updates: Updates, clock: Clock) -> log.Log:
    log_writes.install()
    master = SimpleNamespace(
        data=SimpleNamespace(updates=updates),
        db=SimpleNamespace(run_db_task=lambda d: None),
        reactor=clock,
    )
    return log.Log.new(master, "stdio", "s", 1, "utf-8")


def test_pieces_of_one_turn_go_as_one_append() -> None:
    updates, clock = Updates(), Clock()
    stdio = stream_log(updates, clock)

    for piece in ("hcommand\n", "oout\n", "hexit 0\n"):
        assert stdio.addRawLines(piece).called  # the caller does not wait for the database
    assert updates.calls == []
    clock.advance(0)
    assert updates.calls == ["hcommand\noout\nhexit 0\n"]


def test_pieces_queued_during_an_append_go_together_in_order() -> None:
    updates, clock = Updates(), Clock()
    stdio = stream_log(updates, clock)
    stdio.addRawLines("hfirst\n")
    clock.advance(0)

    for piece in ("osecond\n", "othird\n"):
        stdio.addRawLines(piece)
        clock.advance(0)
    assert updates.calls == ["hfirst\n"]

    updates.pending[0].callback(None)
    clock.advance(0)
    assert updates.calls == ["hfirst\n", "osecond\nothird\n"]


def test_log_finishes_after_its_last_piece_is_written() -> None:
    updates, clock = Updates(), Clock()
    stdio = stream_log(updates, clock)
    stdio.addRawLines("hfirst\n")
    clock.advance(0)
    stdio.addRawLines("osecond\n")

    finished = stdio.finish()
    clock.advance(0)
    assert updates.calls == ["hfirst\n"]
    updates.pending[0].callback(None)
    clock.advance(0)
    assert updates.calls == ["hfirst\n", "osecond\n"]
    assert not finished.called
    updates.pending[1].callback(None)

    assert updates.calls == ["hfirst\n", "osecond\n", "finished"]
    assert finished.called
