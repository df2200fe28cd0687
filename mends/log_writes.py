"""A build's log output is appended in batches, not one append per piece.

Replaces: ``buildbot.process.log.Log.addRawLines``.

Defect (a cost): each piece of output a worker sends (a header line, a stdout chunk, the
exit code) became its own append to the step's log, four database operations and an
event each, and the remote command waited for each append before handing over the next
piece, even when the worker's message carried them all at once. No upstream issue yet.

Mend: a piece is queued and the caller goes on; the append waits for the reactor's next
turn, so that every piece of the same message, and any queued while an earlier append is
under way, go together as one. The log's text and order are the same (appends and the
log's finish take turns on the log's lock, in order).

Gain: see the README's mends table (``make bench``, rows "burst: master overhead per
build" and "burst: master CPU per build", with this mend off).

Remove when: upstream batches log appends (the canary
``test_upstream_appends_each_piece_on_its_own`` then fails).
"""

from __future__ import annotations

from typing import Any

from buildbot.process import log
from twisted.internet import defer, task
from twisted.python import log as twisted_log

from mends.wrapping import replace

TARGETS = (
    "buildbot.process.log:Log.addRawLines",
    "buildbot.process.log:Log.finish",
)


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
    other pieces), then append."""
    return task.deferLater(self.master.reactor, 0, _append_waiting, self)


def _append_waiting(self: log.Log) -> defer.Deferred[Any]:
    """Under the log's lock: append every piece queued so far, as one."""
    batch, self._waiting = self._waiting, []
    appended: defer.Deferred[Any] = defer.maybeDeferred(
        self.master.data.updates.appendLog, self.logid, "".join(batch)
    )
    return appended


def install() -> None:
    replace(log.Log, "addRawLines", lambda _: add_raw_lines)
