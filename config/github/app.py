"""A GitHub App's short-lived installation tokens.

An App signs a JWT with its private key (RS256, as GitHub documents: issued a minute in
the past, valid nine minutes), finds the installation on a repository's owner (or takes
the one the settings give), and trades the JWT for an installation token at
``/app/installations/<id>/access_tokens``, asking for one repository and the permissions
of one job (:mod:`config.github.credentials` says which). Tokens live an hour; one is
renewed once less than :data:`RENEW_BEFORE` (or half its life, for short-lived ones) is
left, so a status posted at the end of a long build never carries an expired token.

:class:`InstallationToken` is a renderable: Buildbot's ``GitHubStatusPush``, our webhook's API
calls and the checkout steps render it per use, and it marks the token as a secret of the
build, so Buildbot writes ``<github token>`` in logs instead of it. Calls to GitHub run in
a pool thread; a lock (a Deferred one, never a wait of the reactor) keeps two renderings
from minting two tokens at once.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Generator
from typing import Any

import jwt
import requests
from buildbot.interfaces import IRenderable
from buildbot.plugins import util
from twisted.internet import defer, threads
from zope.interface import implementer

from config.github.repositories import owner_and_name
from config.settings import GitHubApp

Permissions = tuple[tuple[str, str], ...]
"""An installation token's permissions, as GitHub names them: ``(("contents", "read"),)``."""

RENEW_BEFORE = 300.0
"""Seconds before its expiry an installation token is renewed."""
SECRET_NAME = "github token"
"""What logs show instead of a token."""


def repository_of(props: Any) -> str | None:
    """``owner/name`` of the repository a rendering is for, from the build's properties."""
    named = props.getProperty("github_repository")
    if named:
        return str(named)
    found = owner_and_name(str(props.getProperty("repository") or ""))
    return "/".join(found) if found else None


class AppTokens:
    """Installation tokens of one GitHub App, kept until shortly before they expire."""

    def __init__(self, api_url: str, app: GitHubApp) -> None:
        self.api_url = api_url.rstrip("/")
        self.app_id = app.app_id
        self.installation_id = app.installation_id
        self.installations: dict[str, int] = {}
        self.tokens: dict[tuple[int, str | None, Permissions], tuple[str, float]] = {}
        """(Installation, repository, permissions) -> (token, when to renew it, on the
        wall clock)."""
        self.lock = defer.DeferredLock()

    def app_jwt(self, private_key: str) -> str:
        now = int(time.time())
        claims = {"iat": now - 60, "exp": now + 540, "iss": str(self.app_id)}
        return jwt.encode(claims, private_key, algorithm="RS256")

    def _thd_call(
        self, method: str, path: str, private_key: str, body: dict[str, Any] | None = None
    ) -> Any:
        headers = {
            "Authorization": f"Bearer {self.app_jwt(private_key)}",
            "Accept": "application/vnd.github+json",
            "User-Agent": "Buildbot",
        }
        answer = requests.request(
            method, self.api_url + path, headers=headers, json=body, timeout=30
        )
        if answer.status_code >= 400:
            raise RuntimeError(f"GitHub answered {answer.status_code} to {method} {path}")
        return answer.json()

    def _thd_installation(self, private_key: str, repository: str | None) -> int:
        if self.installation_id is not None:
            return self.installation_id
        if repository is None:
            raise RuntimeError("no repository to find the GitHub App's installation for")
        if repository not in self.installations:
            found = self._thd_call("GET", f"/repos/{repository}/installation", private_key)
            self.installations[repository] = int(found["id"])
        return self.installations[repository]

    def _thd_token(self, private_key: str, repository: str | None, permissions: Permissions) -> str:
        installation = self._thd_installation(private_key, repository)
        key = (installation, repository, permissions)
        cached = self.tokens.get(key)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        # Cut to the job: this one repository, these permissions (GitHub refuses more
        # than the App has, and the token can do nothing else).
        body: dict[str, Any] = {"permissions": dict(permissions)}
        if repository is not None:
            body["repositories"] = [repository.split("/")[-1]]
        minted = self._thd_call(
            "POST", f"/app/installations/{installation}/access_tokens", private_key, body
        )
        expires = datetime.datetime.fromisoformat(minted["expires_at"]).timestamp()
        now = time.time()
        self.tokens[key] = (minted["token"], expires - min(RENEW_BEFORE, (expires - now) / 2))
        return str(minted["token"])

    def token(
        self, private_key: str, repository: str | None, permissions: Permissions
    ) -> defer.Deferred[str]:
        """A valid installation token for ``repository`` (of its installation) with
        ``permissions`` only."""
        return self.lock.run(
            threads.deferToThread, self._thd_token, private_key, repository, permissions
        )


@implementer(IRenderable)
class InstallationToken:
    """Renders to an installation token of the settings' GitHub App for the build's
    repository, with ``permissions`` only."""

    def __init__(self, tokens: AppTokens, permissions: Permissions) -> None:
        self.tokens = tokens
        self.permissions = permissions

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any) -> Generator[Any, Any, str]:
        key = yield props.render(util.Secret("github.app.private_key"))
        token: str = yield self.tokens.token(key, repository_of(props), self.permissions)
        props.useSecret(token, SECRET_NAME)
        return token
