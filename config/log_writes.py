"""The one place that mends how Buildbot 4.3 writes a build's log lines to the database.

Each piece of output a worker sends (a header line, a stdout chunk, the exit code) became
its own append to the step's log: four database operations and an event each. A remote
command handed its log one piece at a time and waited for each append to finish before
the next, even when the worker's message carried them all at once. Here a piece is queued
and the caller goes on; the append waits for the reactor's next turn, so that every piece
that came in the same message, and any queued while an earlier append is under way, go
together as one. The log's text and order are the same (appends and the log's finish take
turns on the log's lock, in order), with one or two appends per command instead of one
per piece.
"""

from __future__ import annotations

from typing import Any

from buildbot.process import log
from twisted.internet import defer, task
from twisted.python import log as twisted_log


def add_raw_lines(self: log.Log, lines: str) -> defer.Deferred[None]:
    """Queue ``lines`` (newline-terminated, as upstream's) for the log's next append."""
    assert lines[-1] == "\n"
    assert not self.finished
    waiting: list[str] = self.__dict__.setdefault("_waiting", [])
    waiting.append(lines)
    if len(waiting) == 1:
        appended = self.lock.run(_append_after_this_turn, self)
        appended.addErrback(twisted_log.err, f"while appending to log {self.logid}")
    return defer.succeed(None)


def _append_after_this_turn(self: log.Log) -> defer.Deferred[Any]:
    """Under the log's lock: let the reactor finish handing over the worker's message (its
    other pieces), then append. The database answers at once (``config/database.py``), so
    without this wait each piece would be appended before the next one is queued."""
    return task.deferLater(self.master.reactor, 0, _append_waiting, self)


def _append_waiting(self: log.Log) -> defer.Deferred[Any]:
    """Under the log's lock: append every piece queued so far, as one."""
    batch, self._waiting = self._waiting, []
    appended: defer.Deferred[Any] = defer.maybeDeferred(
        self.master.data.updates.appendLog, self.logid, "".join(batch)
    )
    return appended


def install() -> None:
    """Make every log of this process append as above (idempotent)."""
    log.Log.addRawLines = add_raw_lines
