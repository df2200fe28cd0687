"""The pieces of output a step's log gets in one moment are written as one.

Replaces: ``buildbot.process.log.Log.addRawLines`` and ``Log.finish``.

Defect (a cost): a worker sends a command's output in messages of several pieces (its
header, its output between switches of stdout and stderr, the exit code, the elapsed
time); a command that ends within the worker's five-second buffer sends all of them in
one message. Buildbot 4.3 writes each piece to the database on its own (three
statements) and sends an event for it (one more, to read the log back), waiting for one
piece's write before it looks at the next, so about sixteen pieces of a build's five
steps cost it some sixty statements. No upstream issue yet.

Mend: a piece is kept, and the pieces a log gets until the reactor's next turn are
written together: one write, one event, the same lines in the same order. Writes stay in
order under the log's own lock, at most one waiting; finishing a log writes what is kept
first; one write takes at most :data:`MOST` characters (after the database held them up,
what was kept goes in several). The caller no longer waits for the database (upstream's
caller waited, and with it the rest of the message): a write that fails is logged, and
the step ends in EXCEPTION when the log finishes, as Buildbot does for a log with errors.
Secrets are taken out of the output and the log's size bounded before its lines reach
this mend.

Gain: see docs/performance.rst (``make bench``'s "burst: database statements per build",
this mend off in ``--mends``).

Remove when: upstream writes a message's pieces together (the canary
``test_upstream_writes_each_piece_on_its_own`` then fails).
"""

from __future__ import annotations

from typing import Any

from buildbot.process.log import Log
from twisted.internet import defer
from twisted.logger import Logger

from mends.wrapping import replace

TARGETS = (
    "buildbot.process.log:Log.addRawLines",
    "buildbot.process.log:Log.finish",
    # What relies on a log's finish writing its last lines first:
    "buildbot.process.log:StreamLog.finish",
    "buildbot.process.log:PlainLog.finish",
    "buildbot.process.remotecommand:RemoteCommand.remoteComplete",
)

KEPT = "_mend_kept_pieces"
"""A log's pieces not yet written (an attribute of the log)."""
WAITING = "_mend_write_waiting"
"""Whether a write of the kept pieces is waiting for the log's lock or the next turn."""
FAILED = "_mend_write_failed"
"""Whether a write of the log failed."""
MOST = 1024 * 1024
"""Characters one write takes at most (the rest is written next)."""


def _write_kept(log: Any) -> Any:
    """Under the log's lock: write the pieces kept so far, as one (up to :data:`MOST`)."""
    pieces = vars(log).get(KEPT) or []
    taken, size = 0, 0
    while taken < len(pieces) and (taken == 0 or size + len(pieces[taken]) <= MOST):
        size += len(pieces[taken])
        taken += 1
    setattr(log, KEPT, pieces[taken:])
    more = taken < len(pieces)
    setattr(log, WAITING, more)
    if more:
        _queue_write(log)  # after this one, on the same lock
    if not taken:
        return None
    return log.master.data.updates.appendLog(log.logid, "".join(pieces[:taken]))


def _failed(failure: Any, log: Any) -> None:
    setattr(log, FAILED, True)
    Logger().failure("writing log {logid}", failure, logid=log.logid)


def _queue_write(log: Any) -> None:
    log.lock.run(_write_kept, log).addErrback(_failed, log)


def _keeping(upstream: Any) -> Any:
    def addRawLines(self: Any, lines: str) -> Any:
        assert lines[-1] == "\n"
        assert not self.finished
        vars(self).setdefault(KEPT, []).append(lines)
        if not vars(self).get(WAITING):
            setattr(self, WAITING, True)
            self.master.reactor.callLater(0, _queue_write, self)
        return defer.succeed(None)

    return addRawLines


def _writing_kept_first(upstream: Any) -> Any:
    def finish(self: Any) -> Any:
        if vars(self).get(KEPT):
            _queue_write(self)  # ahead of upstream's finish on the same lock

        def with_errors(result: Any) -> Any:
            if vars(self).get(FAILED):
                self._had_errors = True  # upstream's finish sets it: the step's end reads it
            return result

        return upstream(self).addCallback(with_errors)

    return finish


def install() -> None:
    replace(Log, "addRawLines", _keeping)
    replace(Log, "finish", _writing_kept_first)
