"""Mends Buildbot 4.3's REST API, which writes its responses from a worker thread.

``V2RootResource.renderRest`` runs ``_write_json_data`` in a thread so that encoding a large
answer does not block the master; but that function also calls ``request.write``, and a
Twisted transport may only be touched from the reactor thread. When a client disconnects
early the two threads race, and the epoll reactor's state is corrupted: ``ENOENT`` from
``addReader`` and connections reset for every later client (Twisted issue #11625, Buildbot
issue #5107). Here the encoding stays in the thread and the writing moves to the reactor.
"""

from __future__ import annotations

import json
from typing import Any

from buildbot.util import unicode2bytes
from buildbot.www.rest import V2RootResource
from twisted.internet import reactor
from twisted.internet.threads import blockingCallFromThread
from twisted.web import server


def _send(request: Any, body: bytes) -> None:
    """Write a whole answer; runs in the reactor thread (Twisted's Request is untyped)."""
    if request.finished or request.channel is None:  # the client went away
        return
    request.setHeader(b"content-length", unicode2bytes(str(len(body))))
    if request.method != b"HEAD":
        request.write(body)


def _write_json_data(request: server.Request, encoder: json.JSONEncoder, data: Any) -> None:
    """Encode in this worker thread, then hand the bytes to the reactor thread."""
    body = b"".join(unicode2bytes(chunk) for chunk in encoder.iterencode(data))
    blockingCallFromThread(reactor, _send, request, body)


def mend() -> None:
    """Install the thread-safe writer (idempotent; the master calls it at each config load)."""
    V2RootResource._write_json_data = staticmethod(_write_json_data)
