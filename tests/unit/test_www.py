"""Web logins (plain or bcrypt passwords), who may control, and how REST answers are written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from buildbot.www import rest
from buildbot.www.auth import NoAuth
from twisted.internet import reactor
from twisted.web.test.requesthelper import DummyRequest

from config import rest_writes, www
from config.settings import validate
from tests.unit.test_settings import GOOD

HASH = "$2b$04$KMtJKnvanma0bB4MCbWkx.50mR7U3tvTcdbVu0Yh0EnH0HeX0qntm"  # bcrypt of "s3cret"


@pytest.fixture
def checker() -> www.PasswordAuth:
    return www.PasswordAuth({"plain": "pw", "hashed": HASH, "broken": "$2b$04$nonsense"})


@pytest.mark.parametrize(
    ("user", "password", "accepted"),
    [
        (b"plain", b"pw", True),
        (b"plain", b"pw ", False),
        (b"plain", b"", False),
        (b"hashed", b"s3cret", True),
        (b"hashed", b"wrong", False),
        (b"hashed", HASH.encode(), False),
        (b"broken", b"$2b$04$nonsense", False),
        (b"nobody", b"pw", False),
        (b"\xff", b"pw", False),
    ],
)
def test_passwords_plain_or_bcrypt(
    checker: www.PasswordAuth, user: bytes, password: bytes, accepted: bool
) -> None:
    assert checker.check_credentials(user, password) is accepted


def test_no_users_means_no_login() -> None:
    login, _ = www.auth(validate(GOOD))
    assert isinstance(login, NoAuth)


def test_admins_hold_the_admin_role() -> None:
    settings = validate({**GOOD, "auth": {"users": {"a": "x", "r": "y"}, "admins": ["a"]}})
    login, authz = www.auth(settings)

    assert isinstance(login, www.PasswordAuth)
    [matcher] = authz.roleMatchers
    assert matcher.getRolesFromUser({"username": "a"}) == ["admins"]
    assert matcher.getRolesFromUser({"username": "r"}) == []
    assert [rule.role for rule in authz.allowRules] == ["admins"]


def test_rest_answers_are_written_from_the_reactor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Encoded in the pool thread, handed to the reactor thread to write."""
    handed: list[Any] = []

    def on_reactor(function: Any, *args: Any) -> None:
        handed.append(function)
        function(*args)

    monkeypatch.setattr(reactor, "callFromThread", on_reactor)
    request: Any = DummyRequest([b"builders"])
    request.channel = object()  # a connected client

    rest_writes.write_json_data(request, json.JSONEncoder(), {"builders": [1, 2]})

    assert handed == [rest_writes._finish]
    assert b"".join(request.written) == b'{"builders": [1, 2]}'
    assert request.responseHeaders.getRawHeaders(b"content-length") == [b"20"]


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

    rest_writes._finish(request, [b"{}"])

    assert request.written == []


def test_install_replaces_upstream_writer() -> None:
    rest_writes.install()
    assert rest.V2RootResource._write_json_data is rest_writes.write_json_data
