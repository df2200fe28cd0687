"""REST answers: encoded in the pool thread, written whole by the reactor thread, and not
encoded to the end once the client has gone (``mends/rest_writes.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from buildbot.www import rest
from twisted.internet import reactor
from twisted.web.test.requesthelper import DummyRequest

from mends import rest_writes


def test_rest_answers_are_written_whole_from_the_reactor(monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[Any] = []

    def on_reactor(function: Any, *args: Any) -> None:
        handed.append(function)
        function(*args)

    monkeypatch.setattr(reactor, "callFromThread", on_reactor)
    request: Any = DummyRequest([b"builders"])
    request.channel = object()  # a connected client

    rest_writes.write_json_data(request, json.JSONEncoder(), {"builders": list(range(2000))})

    assert handed == [rest_writes._finish]
    assert len(request.written) == 1  # one piece, not one per encoder chunk
    assert json.loads(request.written[0]) == {"builders": list(range(2000))}
    length = request.responseHeaders.getRawHeaders(b"content-length")
    assert length == [str(len(request.written[0])).encode()]


def test_encoding_stops_once_the_client_has_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reactor, "callFromThread", lambda *a: pytest.fail("wrote to a gone client"))
    request: Any = DummyRequest([b"builders"])
    request.channel = object()
    encoded: list[int] = []

    class Encoder(json.JSONEncoder):
        def iterencode(self, o: Any, _one_shot: bool = False) -> Iterator[str]:
            for number, chunk in enumerate(super().iterencode(o)):
                encoded.append(number)
                if number == 10:
                    request.channel = None  # the client disconnects meanwhile
                yield chunk

    rest_writes.write_json_data(request, Encoder(), list(range(100_000)))

    assert len(encoded) == rest_writes.CHUNKS_PER_LOOK  # stopped at the first look after


@pytest.mark.parametrize(
    ("method", "finished", "channel"),
    [(b"HEAD", 0, object()), (b"GET", 1, object()), (b"GET", 0, None)],
    ids=["head", "finished", "disconnected"],
)
def test_rest_answer_has_no_body_for_head_or_a_gone_client(
    method: bytes, finished: int, channel: object
) -> None:
    request: Any = DummyRequest([b"builders"])
    request.method, request.finished, request.channel = method, finished, channel

    rest_writes._finish(request, b"{}")

    assert request.written == []


def test_install_replaces_upstream_writer_once() -> None:
    rest_writes.install()
    rest_writes.install()  # as at a reconfig
    assert rest.V2RootResource._write_json_data is rest_writes.write_json_data
