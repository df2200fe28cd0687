"""Who logs in to the web UI, and who may control builds: ``(auth, authz)``."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import bcrypt
from buildbot.plugins import util
from buildbot.www.auth import CustomAuth
from buildbot.www.authz.roles import RolesFromBase
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, threads
from twisted.python import log

from config.settings import Settings

BCRYPT_PREFIXES = (b"$2a$", b"$2b$", b"$2y$")


class PasswordAuth(CustomAuth):
    """Logins checked against ``auth.users``, where a password is plain or a bcrypt hash.

    Buildbot's ``UserPasswordAuth`` compares plain passwords only (and offers Digest
    authentication, which needs them), and says nothing when a login fails. This checker
    accepts a bcrypt hash wherever a password may stand, checks it off the reactor thread
    (bcrypt is slow on purpose), and logs each failed login with the user name only.
    """

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = {name: password.encode() for name, password in users.items()}
        super().__init__()

    def requestAvatarId(self, cred: IUsernamePassword) -> defer.Deferred[bytes]:
        checked = threads.deferToThread(self.check_credentials, cred.username, cred.password)
        return checked.addCallback(lambda ok: cred.username if ok else _refuse(cred.username))

    def check_credentials(self, username: bytes, password: bytes) -> bool:
        stored = self._users.get(username.decode(errors="replace"))
        if stored is None:
            return False
        if stored.startswith(BCRYPT_PREFIXES):
            try:
                return bcrypt.checkpw(password, stored)
            except ValueError:  # a malformed hash matches nothing
                return False
        return hmac.compare_digest(password, stored)


def _refuse(username: bytes) -> bytes:
    log.msg(f"web login failed for user {username.decode(errors='replace')!r}")
    raise UnauthorizedLogin()


def passwords(settings: Settings) -> dict[str, str]:
    """``auth.users``: each user's password or bcrypt hash."""
    return {name: secret.get_secret_value() for name, secret in settings.auth.users.items()}


class RolesFromTeams(RolesFromBase):
    """``admins`` for members of the named GitHub teams.

    Buildbot's ``GitHubAuth`` lists a user's teams among their groups as ``org/name`` and
    ``org/slug``; a role matcher of our own, Buildbot's documented way to map user details
    to roles, gives the role to the members of any of ``teams``.
    """

    def __init__(self, teams: list[str]) -> None:
        super().__init__()
        self.teams = set(teams)

    def getRolesFromUser(self, userDetails: dict[str, Any]) -> list[str]:
        return ["admins"] if self.teams & set(userDetails.get("groups") or ()) else []


def auth(settings: Settings) -> tuple[Any, Any]:
    """``(auth, authz)``: users log in with passwords or with GitHub; anyone reads, only
    admins control."""
    github = settings.auth.github
    if github is None:
        login: Any = PasswordAuth(passwords(settings))
        matchers = [util.RolesFromUsername(roles=["admins"], usernames=settings.auth.admins)]
    else:
        login = util.GitHubAuth(
            github.client_id,
            util.Secret("auth.github.client_secret"),
            serverURL=github.server_url,
            apiVersion=4,  # GraphQL: the only way GitHubAuth reads team membership
            getTeamsMembership=bool(github.admin_teams),
        )
        matchers = [
            util.RolesFromUsername(roles=["admins"], usernames=github.admin_users),
            RolesFromTeams(github.admin_teams),
        ]
    authz = util.Authz(
        allowRules=[util.AnyControlEndpointMatcher(role="admins")], roleMatchers=matchers
    )
    return login, authz
