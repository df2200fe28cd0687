"""A TCP relay on 127.0.0.1 that records every byte it passes, both ways: what anyone on
the path between a worker and its master would see."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from typing import Any, Self


class Relay:
    """``with Relay(port) as relay:`` connect to ``relay.port`` to reach ``port``;
    ``relay.streams()`` is every byte passed so far, one stream per connection and way."""

    def __init__(self, upstream_port: int) -> None:
        self._streams: list[bytearray] = []
        self._lock = threading.Lock()
        relay = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                upstream = socket.create_connection(("127.0.0.1", upstream_port))
                back = threading.Thread(target=relay._pass, args=(upstream, self.request))
                back.start()
                relay._pass(self.request, upstream)
                back.join()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def streams(self) -> list[bytes]:
        with self._lock:
            return [bytes(stream) for stream in self._streams]

    def _pass(self, source: socket.socket, sink: socket.socket) -> None:
        stream = bytearray()
        with self._lock:
            self._streams.append(stream)
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                with self._lock:
                    stream += data
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
