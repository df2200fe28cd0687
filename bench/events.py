"""Build events as they happen, from the master's websocket (``/ws``), with their arrival
times: the bench's clock on builds, which costs the master nothing between events (polling
the REST API every few milliseconds would slow the very builds it times).

A minimal RFC 6455 client over a plain socket: the standard library has none.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    at: float  # time.monotonic() on arrival
    buildid: int
    kind: str  # a build's new, finished, ...; a step's "<name> started", "<name> finished", ...
    build: dict[str, object] = field(compare=False)  # the build or step, as the event has it


class BuildEvents:
    """Subscribed to every build and step event of the master at ``url`` until closed."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        self.sock = socket.create_connection((host, port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(f"no websocket: {head[:80]!r}")
        self.events: list[Event] = []
        self.changed = threading.Condition()
        self.sock.settimeout(None)
        self._send(1, json.dumps({"cmd": "startConsuming", "path": "steps/*/*", "_id": 2}))
        self._send(1, json.dumps({"cmd": "startConsuming", "path": "builds/*/*", "_id": 1}))
        self.reader = threading.Thread(target=self._read_all, daemon=True)
        self.reader.start()
        self.wait(lambda: self.subscribed, timeout=30)

    subscribed = False

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the master closed the websocket")
        return data

    def _exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self.buffer += self._recv()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _send(self, opcode: int, text: str | bytes) -> None:
        payload = text.encode() if isinstance(text, str) else text
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        elif size < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _frame(self) -> tuple[int, bytes]:
        first, second = self._exactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", self._exactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", self._exactly(8))
        return first & 0x0F, self._exactly(size)

    def _read_all(self) -> None:
        try:
            while True:
                opcode, payload = self._frame()
                if opcode == 8:
                    return
                if opcode == 9:
                    self._send(10, payload)
                    continue
                if opcode == 1:
                    self._message(json.loads(payload), time.monotonic())
        except (OSError, ConnectionError, ValueError):
            return

    def _message(self, message: dict[str, object], at: float) -> None:
        with self.changed:
            if message.get("_id") == 1:
                self.subscribed = True
            key = message.get("k")
            body = message.get("m")
            if isinstance(key, str) and isinstance(body, dict):
                collection, ident, kind = key.split("/")
                if collection == "steps":
                    ident, kind = str(body["buildid"]), f"{body['name']} {kind}"
                self.events.append(Event(at, int(ident), kind, body))
            self.changed.notify_all()

    def wait(self, ready: Callable[[], object], timeout: float = 300) -> None:
        """Block until ``ready()`` is true (``ready`` is called under the lock)."""
        with self.changed:
            if not self.changed.wait_for(ready, timeout=timeout):
                raise TimeoutError(f"no such build event within {timeout:.0f}s")

    def first(self, kind: str, after: int, timeout: float = 300) -> Event:
        """The first ``kind`` event of a build newer than ``after``, waiting for it."""

        def found() -> Event | None:
            return next((e for e in self.events if e.kind == kind and e.buildid > after), None)

        self.wait(found, timeout)
        event = found()
        assert event is not None
        return event

    def count(self, kind: str, after: int) -> int:
        with self.changed:
            return sum(1 for e in self.events if e.kind == kind and e.buildid > after)

    def close(self) -> None:
        try:
            self._send(8, b"")
        finally:
            self.sock.close()
