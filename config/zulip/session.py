"""Zulip's message API (``POST /api/v1/messages``, HTTP basic auth with the bot's email
and API key) on Buildbot's shared HTTP client service."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.util import httpclientservice
from twisted.internet import defer
from twisted.python import log


class ZulipSession:
    """Zulip's message API on the master's HTTP client service; failures are logged only."""

    def __init__(self, master: Any, site: str, bot_email: str, api_key: str) -> None:
        self._http = httpclientservice.HTTPSession(
            master.httpservice, site.rstrip("/"), auth=(bot_email, api_key)
        )

    @defer.inlineCallbacks
    def post(self, stream: str, topic: str, content: str) -> Generator[Any, Any, None]:
        form = {"type": "stream", "to": stream, "topic": topic, "content": content}
        try:
            response = yield self._http.post("/api/v1/messages", data=form)
        except Exception as error:  # the key is in a header, never in this text
            log.msg(f"Zulip: could not post to {stream}: {type(error).__name__}: {error}")
            return
        if response.code != 200:
            answer = yield response.content()
            log.msg(f"Zulip: {stream} answered {response.code}: {answer[:200]!r}")
