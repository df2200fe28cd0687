"""Web logins (plain or bcrypt passwords) and who may control."""

from __future__ import annotations

from typing import Any

import pytest
from buildbot.www.oauth2 import GitHubAuth

from config.settings import validate
from config.web import auth
from tests.unit.settings.test_settings import GOOD, message

HASH = "$2b$04$KMtJKnvanma0bB4MCbWkx.50mR7U3tvTcdbVu0Yh0EnH0HeX0qntm"  # bcrypt of "s3cret"


@pytest.fixture
def checker() -> auth.PasswordAuth:
    return auth.PasswordAuth({"plain": "pw", "hashed": HASH, "broken": "$2b$04$nonsense"})


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
    checker: auth.PasswordAuth, user: bytes, password: bytes, accepted: bool
) -> None:
    assert checker.check_credentials(user, password) is accepted


def test_a_master_without_a_way_to_log_in_is_refused() -> None:
    assert message({**GOOD, "auth": {}}) == (
        "config: auth: log in with passwords (users, admins) or with GitHub (github): one of them"
    )
    assert message({k: v for k, v in GOOD.items() if k != "auth"}) == (
        "config: auth: required key is missing"
    )


def roles_of(authz: Any, details: dict[str, Any]) -> set[str]:
    return {role for m in authz.roleMatchers for role in m.getRolesFromUser(details)}


def test_admins_hold_the_admin_role_and_every_user_reads() -> None:
    settings = validate({**GOOD, "auth": {"users": {"a": "x", "r": "y"}, "admins": ["a"]}})
    login, authz = auth.auth(settings)

    assert isinstance(login, auth.PasswordAuth)
    assert roles_of(authz, {"username": "a"}) == {"admins", "readers"}
    assert roles_of(authz, {"username": "r"}) == {"readers"}
    assert roles_of(authz, {"anonymous": True}) == set()
    # Anyone reads (no project is private), only admins control.
    assert [rule.role for rule in authz.allowRules] == ["admins"]


def test_a_private_project_is_read_by_logged_in_readers_only() -> None:
    project = {**GOOD["projects"][0], "private": True}
    settings = validate({**GOOD, "projects": [project]})
    assert settings.anonymous_read() is False
    _, authz = auth.auth(settings)
    assert [(type(r).__name__, r.role) for r in authz.allowRules] == [
        ("AnyControlEndpointMatcher", "admins"),
        ("AnyEndpointMatcher", "readers"),
    ]
    assert message(
        {**GOOD, "projects": [project], "auth": {**GOOD["auth"], "anonymous_read": True}}
    ) == (
        "config: auth.anonymous_read: a private project's builds, logs and results would be read by anyone"
    )
    github = {"projects": [project], "auth": {"github": GITHUB}}
    assert message({**GOOD, **github}).startswith("config: auth.github.reader_orgs: required")


GITHUB = {
    "client_id": "Iv1.abc",
    "client_secret": "client-secret",
    "admin_teams": ["ClusterHQ/ci-admins"],
    "admin_users": ["octocat"],
}


def test_github_login_gives_admin_to_its_teams_and_users() -> None:
    login, authz = auth.auth(validate({**GOOD, "auth": {"github": GITHUB}}))

    assert isinstance(login, GitHubAuth)
    assert login.getTeamsMembership is True
    assert login.authUri == "https://github.com/login/oauth/authorize"

    def roles(details: dict[str, Any]) -> set[str]:
        return roles_of(authz, details)

    team_member: dict[str, Any] = {
        "username": "alice",
        "groups": ["ClusterHQ", "ClusterHQ/ci-admins"],
    }
    assert roles(team_member) == {"admins", "readers"}
    assert roles({"username": "octocat", "groups": []}) == {"admins", "readers"}
    assert roles({"username": "bob", "groups": ["ClusterHQ", "ClusterHQ/docs"]}) == set()
    assert roles({"username": "mallory", "groups": ["Other/ci-admins"]}) == set()
    readers = {**GITHUB, "reader_orgs": ["ClusterHQ"]}
    _, authz = auth.auth(validate({**GOOD, "auth": {"github": readers}}))
    assert roles({"username": "bob", "groups": ["ClusterHQ"]}) == {"readers"}


def test_github_enterprise_logins_go_to_its_server() -> None:
    enterprise = {**GITHUB, "server_url": "https://ghe.example.com/"}
    login, _ = auth.auth(validate({**GOOD, "auth": {"github": enterprise}}))
    assert login.authUri == "https://ghe.example.com/login/oauth/authorize"
    assert login.apiResourceEndpoint == "https://ghe.example.com/api/graphql"


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (
            {"github": GITHUB, "users": {"admin": "pw"}, "admins": ["admin"]},
            "config: auth: log in with passwords (users, admins) or with GitHub (github): one of them",
        ),
        (
            {"github": {**GITHUB, "admin_teams": ["ci-admins"]}},
            "config: auth.github.admin_teams[0]: must be an organisation's team as org/team, "
            'got "ci-admins"',
        ),
        (
            {"github": {k: v for k, v in GITHUB.items() if k != "client_secret"}},
            "config: auth.github.client_secret: required key is missing",
        ),
        (
            {"github": GITHUB, "metrics_login": True},
            "config: auth: metrics_login needs password users; GitHub logins cannot scrape",
        ),
    ],
)
def test_github_login_mistakes_get_one_line(auth: dict[str, object], expected: str) -> None:
    assert message({**GOOD, "auth": auth}) == expected
