"""Log lines that arrive while an append is under way go as one append, in order.

The database is a recorder behind the one data API call a log makes; every build of the
integration suites reads its logs back through the real one.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from buildbot.process import log
from twisted.internet import defer

from config import log_writes


class Appends:
    """``master.data.updates.appendLog``, answering each append when the test says."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.pending: list[defer.Deferred[None]] = []

    def appendLog(self, logid: int, content: str) -> defer.Deferred[None]:
        self.calls.append(content)
        self.pending.append(defer.Deferred())
        return self.pending[-1]


def stream_log(appends: Appends) -> log.Log:
    master = SimpleNamespace(data=SimpleNamespace(updates=appends))
    return log.Log.new(master, "stdio", "s", 1, "utf-8")


def test_pieces_arriving_during_an_append_go_together_in_order() -> None:
    log_writes.install()
    appends = Appends()
    stdio = stream_log(appends)
    done: list[str] = []

    for piece in ("hfirst\n", "osecond\n", "othird\n"):
        stdio.addRawLines(piece).addCallback(lambda _, p=piece: done.append(p))
    assert appends.calls == ["hfirst\n"]

    appends.pending[0].callback(None)
    assert done == ["hfirst\n"]
    assert appends.calls == ["hfirst\n", "osecond\nothird\n"]

    appends.pending[1].callback(None)
    assert done == ["hfirst\n", "osecond\n", "othird\n"]


def test_a_failed_append_fails_each_of_its_pieces() -> None:
    log_writes.install()
    appends = Appends()
    stdio = stream_log(appends)
    stdio.addRawLines("hfirst\n")
    failures: list[Any] = []
    for piece in ("osecond\n", "othird\n"):
        stdio.addRawLines(piece).addErrback(failures.append)

    appends.pending[0].callback(None)
    appends.pending[1].errback(RuntimeError("database gone"))

    assert [f.getErrorMessage() for f in failures] == ["database gone", "database gone"]
