"""The one place that mends how Buildbot 4.3 writes a build's log lines to the database.

Each piece of output a worker sends (a header line, a stdout chunk, the exit code) becomes
its own append to the step's log: four database operations and an event, one after the
other behind the log's lock, even when a worker's message carried several pieces at
once. Here the pieces that arrive while an append is under way wait together and go as
one append, in order: the log's text is the same, with fewer writes on every command.
"""

from __future__ import annotations

from typing import Any

from buildbot.process import log
from twisted.internet import defer
from twisted.python.failure import Failure


def add_raw_lines(self: log.Log, lines: str) -> defer.Deferred[None]:
    """Queue ``lines`` (newline-terminated, as upstream's) for the log's next append."""
    assert lines[-1] == "\n"
    assert not self.finished
    waiting: list[tuple[str, defer.Deferred[None]]] = self.__dict__.setdefault("_waiting", [])
    written: defer.Deferred[None] = defer.Deferred()
    waiting.append((lines, written))
    if len(waiting) == 1:
        self.lock.run(_append_waiting, self)
    return written


def _append_waiting(self: log.Log) -> defer.Deferred[Any]:
    """Under the log's lock: append every queued piece as one, then answer each caller."""
    batch, self._waiting = self._waiting, []
    appended: defer.Deferred[Any] = defer.maybeDeferred(
        self.master.data.updates.appendLog, self.logid, "".join(text for text, _ in batch)
    )

    def answer(result: Any) -> None:
        for _, written in batch:
            if isinstance(result, Failure):
                written.errback(result)
            else:
                written.callback(None)

    return appended.addBoth(answer)


def install() -> None:
    """Make every log of this process append as above (idempotent)."""
    log.Log.addRawLines = add_raw_lines
