"""REST answers are written from the reactor thread, in one piece.

Replaces: ``buildbot.www.rest.V2RootResource._write_json_data`` (a static method).

Defect: Buildbot 4.3 encodes each ``/api/v2`` answer in a thread-pool thread and writes it
to the connection from that same thread, one write per encoder chunk. Twisted's
transports are not thread-safe: a write from another thread races the reactor's epoll
bookkeeping, and clients see connections reset without an answer while the master logs
``'NoneType' object has no attribute 'write'`` and epoll ``FileNotFoundError``s (Twisted
#11625, Buildbot #5107). Upstream's development branch rewrote the writer (Buildbot PR
#9143, not in a release yet).

Mend: encode in the thread as upstream does, stop encoding once the client has gone, and
hand the whole answer to the reactor thread, which writes it in one piece.

Gain: correctness, not speed: ``tests/integration/test_rest.py`` fails 3 runs in 3
without it (reset connections under a UI load while workers connect).

Remove when: the Buildbot release we move to has PR #9143 (the canary
``test_upstream_writes_rest_answers_from_its_thread`` then fails).
"""

from __future__ import annotations

from typing import Any

from buildbot.util import unicode2bytes
from buildbot.www import rest

from mends.wrapping import replace

TARGETS = ("buildbot.www.rest:V2RootResource._write_json_data",)

# Encoder chunks between two looks at whether the client is still there.
CHUNKS_PER_LOOK = 512


def gone(request: Any) -> bool:
    """Whether the request was answered or its client disconnected (Twisted drops the
    channel then); reading two attributes is safe from a thread."""
    return bool(request.finished) or request.channel is None


def _finish(request: Any, body: bytes) -> None:
    """On the reactor thread: send the encoded answer unless the client has gone."""
    if gone(request):
        return
    request.setHeader(b"content-length", str(len(body)).encode())
    if request.method != b"HEAD":
        request.write(body)


def write_json_data(request: Any, encoder: Any, data: Any) -> None:
    """Runs in a pool thread, as upstream's does: encode here, write on the reactor.

    The write is queued without waiting for it: the thread pool is joined from the
    reactor thread at shutdown, so a thread waiting on the reactor could hang it. The
    reactor runs queued calls in order, so the write still comes before the request is
    finished (which waits for this function's result, queued after it).
    """
    from twisted.internet import reactor

    chunks: list[bytes] = []
    for count, chunk in enumerate(encoder.iterencode(data), 1):
        chunks.append(unicode2bytes(chunk))
        if count % CHUNKS_PER_LOOK == 0 and gone(request):
            return
    reactor.callFromThread(_finish, request, b"".join(chunks))


def install() -> None:
    replace(rest.V2RootResource, "_write_json_data", lambda _: staticmethod(write_json_data))
