"""Bounds on what one build may take of the master: its logs' size and its time.

Without them one pull request fills the master's database with output, or holds a worker
for ever. Each bound is a setting (``limits``); a build that passes one fails with a
message naming it. Uploads have theirs in :mod:`config.builds.uploads`, the webhook in
:mod:`config.github.webhook`.

- A step's log keeps its first part and, once over ``limits.log_mb``, only the newest part
  of the rest (its tail, where a failure shows), with a line saying how much was left out;
  the step fails.
- A recipe's command may run for what is left of ``limits.build_minutes`` since the build
  began (its checkout): the worker ends it then, and the step fails saying so. A build
  stuck anywhere else (a step that never ends) is stopped a minute after its time
  (:class:`BuildTimeLimit`), and ends cancelled with the reason.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Generator
from typing import Any

from buildbot.plugins import util
from buildbot.process import logobserver
from buildbot.process.results import FAILURE
from buildbot.util import service
from twisted.internet import defer
from twisted.python import log

MB = 1024 * 1024
STARTED = "build_started_at"
"""The property: when the build's checkout began (seconds since the epoch)."""
GRACE = 60.0
"""Seconds past its time limit before a build that does not end is stopped."""


def time_left(limit: float) -> Any:
    """A renderable of the seconds a command may still run: ``limit`` since the build began."""

    @util.renderer
    def left(props: Any) -> float:
        started = props.getProperty(STARTED)
        spent = time.time() - float(started) if started is not None else 0.0
        return max(1.0, limit - spent)

    return left


class BoundedLog:
    """A step's stream log that keeps at most ``limit`` characters: the first part as it
    comes, then a rolling tail, written when the log finishes."""

    def __init__(self, log: Any, limit: int) -> None:
        self._log = log
        self.limit = limit
        self.head_room = limit - limit // 4
        self.tail_room = limit // 4
        self.written = 0
        self.dropped = 0
        self.tail: collections.deque[tuple[str, str]] = collections.deque()
        self.tail_size = 0

    @property
    def over(self) -> bool:
        return self.dropped > 0 or self.tail_size > 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)

    def _add(self, method: str, text: Any) -> Any:
        if not isinstance(text, str):
            text = self._log.decoder(text)
        room = self.head_room - self.written
        if room > 0:
            passed, text = text[:room], text[room:]
            self.written += len(passed)
            written = getattr(self._log, method)(passed)
            if not text:
                return written
            # The rest goes to the tail; the log's own lock keeps its writes in order.
            written.addErrback(log.err, "writing a log")
        self.tail.append((method, text))
        self.tail_size += len(text)
        while self.tail_size > self.tail_room and self.tail:
            first_method, first = self.tail[0]
            excess = self.tail_size - self.tail_room
            if len(first) <= excess:
                self.tail.popleft()
                self.tail_size -= len(first)
                self.dropped += len(first)
            else:
                self.tail[0] = (first_method, first[excess:])
                self.tail_size -= excess
                self.dropped += excess
        return defer.succeed(None)

    def addStdout(self, text: Any) -> Any:
        return self._add("addStdout", text)

    def addStderr(self, text: Any) -> Any:
        return self._add("addStderr", text)

    def addHeader(self, text: Any) -> Any:
        return self._add("addHeader", text)

    def add_stdout_lines(self, text: Any) -> Any:
        return self._add("addStdout", text)

    def add_stderr_lines(self, text: Any) -> Any:
        return self._add("addStderr", text)

    def add_header_lines(self, text: Any) -> Any:
        return self._add("addHeader", text)

    @defer.inlineCallbacks
    def finish(self) -> Generator[Any, Any, None]:
        if self.over:
            yield self._log.addHeader(
                f"\n[{self.dropped} characters of output left out here: this log is over "
                f"the limit of {self.limit / MB:g} MB (limits.log_mb); its end follows]\n"
            )
            for method, text in self.tail:
                yield getattr(self._log, method)(text)
            self.tail.clear()
        yield self._log.finish()


class Bounded:
    """Mixed into a recipe's step classes: each of its logs is a :class:`BoundedLog` of
    ``log_limit`` characters, its command ends when the build's ``time_limit`` (seconds)
    is spent; past either, the step fails saying which."""

    def __init__(self, *args: Any, log_limit: int, time_limit: float, **kwargs: Any) -> None:
        self.log_limit = log_limit
        self.time_limit = time_limit
        self.bounded: list[BoundedLog] = []
        self.out_of_time = False
        super().__init__(*args, maxTime=time_left(time_limit), **kwargs)  # type: ignore[call-arg]
        self.addLogObserver(  # type: ignore[attr-defined]
            "stdio", logobserver.LineConsumerLogObserver(self._watch_time)
        )

    def _watch_time(self) -> Generator[None, tuple[str, str], None]:
        while True:
            stream, line = yield
            if stream == "h" and line.startswith("command timed out:") and "elapsed" in line:
                self.out_of_time = True

    @defer.inlineCallbacks
    def addLog(self, name: str, *args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        made = yield super().addLog(name, *args, **kwargs)  # type: ignore[misc]
        if not hasattr(made, "addStdout"):
            return made
        bounded = BoundedLog(made, self.log_limit)
        self.bounded.append(bounded)
        self.logs[name] = bounded  # type: ignore[attr-defined]  # the step finishes this one
        return bounded

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        result: int = yield super().run()  # type: ignore[misc]
        if self.out_of_time or any(log.over for log in self.bounded):
            return int(FAILURE)
        return result

    def getResultSummary(self) -> dict[str, str]:
        if self.out_of_time:
            minutes = f"{self.time_limit / 60:g}"
            return {
                "step": f"build over its time limit of {minutes} minutes (limits.build_minutes)"
            }
        if any(log.over for log in self.bounded):
            limit = f"{self.log_limit / MB:g}"
            return {"step": f"log over {limit} MB (limits.log_mb): kept its start and end"}
        summary: dict[str, str] = super().getResultSummary()  # type: ignore[misc]
        return summary


class BuildTimeLimit(service.BuildbotService):
    """Stops a build still running :data:`GRACE` seconds after its time limit of
    ``seconds`` (one stuck outside a command: the commands end at the limit)."""

    def checkConfig(self, seconds: float, **kwargs: Any) -> None:
        super().checkConfig(**kwargs)

    @defer.inlineCallbacks
    def reconfigService(self, seconds: float, **kwargs: Any) -> Generator[Any, Any, None]:
        yield super().reconfigService(**kwargs)
        self.seconds = seconds
        if not hasattr(self, "timers"):
            self.timers: dict[int, Any] = {}

    @defer.inlineCallbacks
    def startService(self) -> Generator[Any, Any, None]:
        yield super().startService()
        self._consumers = [
            (yield self.master.mq.startConsuming(self._started, ("builds", None, "new"))),
            (yield self.master.mq.startConsuming(self._finished, ("builds", None, "finished"))),
        ]

    @defer.inlineCallbacks
    def stopService(self) -> Generator[Any, Any, None]:
        for consumer in self._consumers:
            yield consumer.stopConsuming()
        for timer in self.timers.values():
            if timer.active():
                timer.cancel()
        self.timers.clear()
        yield super().stopService()

    def _started(self, key: Any, build: dict[str, Any]) -> None:
        buildid = build["buildid"]
        self.timers[buildid] = self.master.reactor.callLater(
            self.seconds + GRACE, self._stop, buildid
        )

    def _finished(self, key: Any, build: dict[str, Any]) -> None:
        timer = self.timers.pop(build["buildid"], None)
        if timer is not None and timer.active():
            timer.cancel()

    def _stop(self, buildid: int) -> None:
        self.timers.pop(buildid, None)
        minutes = f"{self.seconds / 60:g}"
        reason = f"build over its time limit of {minutes} minutes (limits.build_minutes)"
        log.msg(f"build {buildid}: {reason}")
        self.master.data.control("stop", {"reason": reason}, ("builds", str(buildid)))
