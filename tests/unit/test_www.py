"""Web logins (plain or bcrypt passwords) and who may control."""

from __future__ import annotations

import pytest
from buildbot.www.auth import NoAuth

from config import www
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
