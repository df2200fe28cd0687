"""The one place that mends how Buildbot 4.3 writes REST answers.

Buildbot 4.3 encodes each ``/api/v2`` answer in a thread-pool thread, and writes it to the
connection from that same thread. Twisted's transports are not thread-safe: a write from
another thread races the reactor's own epoll bookkeeping. Under ordinary use (a master
starting while workers connect and a browser loads the UI) clients then see connections
reset without an answer, and the master logs ``'NoneType' object has no attribute 'write'``
and epoll ``FileNotFoundError``s (Twisted issue #11625, Buildbot issue #5107). Here the
encoding stays in the thread and the writing moves to the reactor thread, where Twisted
requires it.

The resource is created inside Buildbot's web service with no hook to substitute a
subclass, so the mend replaces its one static method.
"""

from __future__ import annotations

from typing import Any

from buildbot.util import unicode2bytes
from buildbot.www import rest


def _finish(request: Any, chunks: list[bytes]) -> None:
    """On the reactor thread: send the encoded answer unless the client has gone."""
    if request.finished or request.channel is None:
        return
    request.setHeader(b"content-length", str(sum(map(len, chunks))).encode())
    if request.method != b"HEAD":
        for chunk in chunks:
            request.write(chunk)


def write_json_data(request: Any, encoder: Any, data: Any) -> None:
    """Runs in a pool thread, as upstream's does: encode here, write on the reactor.

    The write is queued without waiting for it: the thread pool is joined from the
    reactor thread at shutdown, so a thread waiting on the reactor could hang it. The
    reactor runs queued calls in order, so the write still comes before the request is
    finished (which waits for this function's result, queued after it).
    """
    from twisted.internet import reactor

    chunks = [unicode2bytes(chunk) for chunk in encoder.iterencode(data)]
    reactor.callFromThread(_finish, request, chunks)


def install() -> None:
    """Make every REST answer of this process written from the reactor thread."""
    rest.V2RootResource._write_json_data = staticmethod(write_json_data)
