"""Who logs in to the web UI, and who may control builds: ``(auth, authz)``."""

from __future__ import annotations

import hmac
from collections.abc import Generator, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any

import bcrypt
from buildbot.plugins import util
from buildbot.www.auth import CustomAuth, build_anonymous_user_info, build_cookie_name
from buildbot.www.authz import Forbidden
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


class RolesFromGroups(RolesFromBase):
    """``roles`` for a user in any of ``groups``.

    Buildbot's ``GitHubAuth`` lists a user's organisations among their groups, and their
    teams as ``org/name`` and ``org/slug``; a role matcher of our own, Buildbot's
    documented way to map user details to roles, gives the roles to their members.
    """

    def __init__(self, roles: list[str], groups: list[str]) -> None:
        super().__init__()
        self.roles = roles
        self.groups = set(groups)

    def getRolesFromUser(self, userDetails: dict[str, Any]) -> list[str]:
        return self.roles if self.groups & set(userDetails.get("groups") or ()) else []


ADMINS = ["admins", "readers"]
"""An admin's roles: admins control builds, and read everything."""


def auth(settings: Settings) -> tuple[Any, Any]:
    """``(auth, authz)``: users log in with passwords or with GitHub; only admins control;
    anyone reads, or (``anonymous_read`` off) logged-in readers: every password user, and
    the GitHub users of ``reader_orgs``."""
    github = settings.auth.github
    if github is None:
        login: Any = PasswordAuth(passwords(settings))
        matchers = [
            util.RolesFromUsername(roles=ADMINS, usernames=settings.auth.admins),
            util.RolesFromUsername(roles=["readers"], usernames=list(settings.auth.users)),
        ]
    else:
        login = util.GitHubAuth(
            github.client_id,
            util.Secret("auth.github.client_secret"),
            serverURL=github.server_url,
            apiVersion=4,  # GraphQL: the only way GitHubAuth reads team membership
            getTeamsMembership=bool(github.admin_teams),
        )
        matchers = [
            util.RolesFromUsername(roles=ADMINS, usernames=github.admin_users),
            RolesFromGroups(ADMINS, github.admin_teams),
            RolesFromGroups(["readers"], github.reader_orgs),
        ]
    rules = [util.AnyControlEndpointMatcher(role="admins")]
    if not settings.anonymous_read():
        rules.append(util.AnyEndpointMatcher(role="readers"))
    return login, util.Authz(allowRules=rules, roleMatchers=matchers)


def may_read(master: Any, request: Any) -> bool:
    """Whether the visitor making ``request`` may read, by Buildbot's own rules (those the
    REST API applies to reading a build). The rules above decide at once; anything that
    would make the check wait refuses."""
    decided: list[bool] = []
    checked = master.www.assertUserAllowed(request, ("builds",), "get", {})
    checked.addCallbacks(lambda _: decided.append(True), lambda _: decided.append(False))
    return decided == [True]


@defer.inlineCallbacks
def may_read_with_cookies(master: Any, cookies: str, secure: bool) -> Generator[Any, Any, bool]:
    """:func:`may_read` for a request known by its ``Cookie`` header only (a WSGI
    page's): the visitor is the one of Buildbot's session cookie, if it holds a valid
    session, else anonymous."""
    user = build_anonymous_user_info()
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookies)
    except CookieError:
        jar.clear()
    session = jar.get(build_cookie_name(secure, []).decode())
    site = getattr(master.www, "site", None)
    if session is not None and site is not None:
        try:
            user = site.getSession(session.value).user_info
        except Exception:  # an expired, forged or garbled session is no one's
            user = build_anonymous_user_info()
    try:
        yield master.www.authz.assertUserAllowed(("builds",), "get", {}, user)
    except Forbidden:
        return False
    return True
