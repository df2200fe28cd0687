"""A small HTTP server on 127.0.0.1 that records every request it gets.

It stands in for the GitHub statuses API and Zulip's webhook in tests: the master under
test is pointed at :attr:`RecordingServer.url`, and the test reads :attr:`requests`.
A GET is answered from :attr:`RecordingServer.answers` (path to JSON body), or 404 with
GitHub's "Not Found" body, as GitHub answers for an unknown commit.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    # When it arrived, on the monotonic clock (for bench/, which times the master).
    at: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    @property
    def form(self) -> dict[str, str]:
        """A form-encoded body (as Zulip's message API takes), one value per field."""
        return {k: v[0] for k, v in parse_qs(self.body).items()}


class RecordingServer(LoopbackServer):
    """Answers every request with ``status`` and a JSON body, and keeps a copy of it."""

    def __init__(self, status: int = 201) -> None:
        self.status = status
        self.answers: dict[str, Any] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def recorded(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            # Kept alive, as GitHub's and Zulip's servers keep them: an HTTP/1.0 answer
            # closes the connection, which Twisted's pool (blind to the version) may
            # already have handed to the master's next request.
            protocol_version = "HTTP/1.1"

            def _record(self) -> str:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                parts = urlsplit(self.path)
                with recorder._lock:
                    recorder.requests.append(
                        Request(
                            self.command,
                            parts.path,
                            parse_qs(parts.query),
                            dict(self.headers),
                            body,
                        )
                    )
                return parts.path

            def _answer(self, status: int, body: Any) -> None:
                answer = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_POST(self) -> None:
                self._record()
                # Zulip's answer shape; GitHub's clients here read only the status code.
                ok = recorder.status < 400
                self._answer(recorder.status, {"result": "success" if ok else "error", "msg": ""})

            def do_GET(self) -> None:
                path = self._record()
                with recorder._lock:
                    found = recorder.answers.get(path)
                if found is None:
                    self._answer(404, {"message": "Not Found"})
                else:
                    self._answer(200, found)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads the records instead."""

        return Handler
