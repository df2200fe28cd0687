"""The master's own errors, sent to the ops stream in batches."""

from __future__ import annotations

import collections
from collections.abc import Generator
from typing import Any, ClassVar, cast

from buildbot.util import service
from twisted.internet import defer
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher

from config.zulip.session import ZulipSession


class MasterErrors(service.BuildbotService):
    """Sends errors the master logs (unhandled exceptions, failed reports) to a stream.

    A Twisted log observer collects them; at most one message leaves every ``interval``
    seconds, holding the newest ``keep`` errors and how many were left out, so a storm of
    errors (or a Zulip that is down) costs one post per interval, never a flood.
    """

    secrets: ClassVar[list[str]] = ["api_key"]

    @defer.inlineCallbacks
    def reconfigService(
        self,
        site: str,
        bot_email: str,
        api_key: str,
        stream: str,
        interval: float = 60.0,
        keep: int = 10,
    ) -> Generator[Any, Any, None]:
        yield super().reconfigService()
        self.stream = stream
        self.interval = interval
        self.errors: collections.deque[str] = collections.deque(maxlen=keep)
        self.dropped = 0
        self._http = ZulipSession(self.master, site, bot_email, api_key)
        self._flush: Any = None
        # Added once: the publisher ignores the same observer added again at a reconfig.
        globalLogPublisher.addObserver(cast(ILogObserver, self.record))

    def stopService(self) -> Any:
        globalLogPublisher.removeObserver(cast(ILogObserver, self.record))
        if self._flush is not None and self._flush.active():
            self._flush.cancel()
        return super().stopService()

    def record(self, event: LogEvent) -> None:
        if not (event.get("isError") or "log_failure" in event):
            return
        text = formatEvent(event) or ""
        failure = event.get("log_failure")
        if failure is not None:
            text += "\n" + failure.getTraceback()[-1500:]
        if len(self.errors) == self.errors.maxlen:
            self.dropped += 1
        self.errors.append(text.strip())
        if self._flush is None or not self._flush.active():
            self._flush = self.master.reactor.callLater(self.interval, self.send)

    def send(self) -> defer.Deferred[None]:
        errors, dropped = list(self.errors), self.dropped
        self.errors.clear()
        self.dropped = 0
        more = f"\n\n({dropped} more left out)" if dropped else ""
        body = "\n".join(f"```\n{text}\n```" for text in errors) + more
        title = self.master.config.title
        return self._http.post(self.stream, f"{title} master errors", body)
