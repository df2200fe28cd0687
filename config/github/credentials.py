"""How the master authenticates to GitHub, and what a checkout fetches with.

The master holds a personal access token, or a GitHub App (:mod:`config.github.app`) whose
installation tokens it mints as it goes, each for one repository and one job's
permissions. :class:`Credentials` is made once per master (the assembly hands it to the
reporters, the webhook and the checkouts), so they share one cache of tokens.
"""

from __future__ import annotations

import base64
from collections.abc import Generator
from typing import Any
from urllib.parse import urlsplit

from buildbot.interfaces import IRenderable
from buildbot.plugins import util
from twisted.internet import defer
from zope.interface import implementer

from config.builds.trust import PULL_REFS, UNTRUSTED
from config.github.app import SECRET_NAME, AppTokens, InstallationToken, Permissions
from config.settings import GitHub

CHECKOUT: Permissions = (("contents", "read"),)
"""A checkout's token: read the repository, nothing else."""
STATUSES: Permissions = (("statuses", "write"),)
"""The commit statuses' token."""
PULL_REQUESTS: Permissions = (("contents", "read"), ("statuses", "write"))
"""The pull request calls' token: a commit's message, the pending status of an approval."""
CHECKS: Permissions = (("checks", "write"),)
"""The check runs' token."""
PULL_REQUESTS_CHECKS: Permissions = (("checks", "write"), ("contents", "read"))
"""The pull request calls' token when builds report as check runs: a commit's message, the
waiting check run of an approval."""
MEMBERS: Permissions = (("members", "read"),)
"""Whether a GitHub user is in an admin team (an organisation's permission)."""


class Credentials:
    """The master's credentials for GitHub, made once per master: one cache of App tokens
    serves every job, and each job gets a token cut to it (a repository and its
    permissions). A personal token cannot be cut: it goes where it must, and never to an
    untrusted build."""

    def __init__(self, github: GitHub) -> None:
        self.tokens = AppTokens(github.api_url, github.app) if github.app is not None else None

    def for_job(self, permissions: Permissions) -> Any:
        """A renderable of the token for a job of ``permissions`` on the build's repository."""
        if self.tokens is not None:
            return InstallationToken(self.tokens, permissions)
        return util.Secret("github.token")

    def checkout(self) -> Any:
        """A renderable of a checkout's token: '' for an untrusted build with a personal
        token (which would be the master's whole access)."""
        if self.tokens is not None:
            return InstallationToken(self.tokens, CHECKOUT)
        return TrustedOnly(util.Secret("github.token"))


@implementer(IRenderable)
class TrustedOnly:
    """Renders ``secret`` for a trusted build, '' for an untrusted one."""

    def __init__(self, secret: Any) -> None:
        self.secret = secret

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any) -> Generator[Any, Any, str]:
        branch = str(props.getProperty("branch") or "")
        if props.getProperty(UNTRUSTED) or branch.startswith(PULL_REFS):
            return ""
        value: str = yield props.render(self.secret)
        return value


@implementer(IRenderable)
class GitAuthConfig:
    """The git configuration of a step that fetches from GitHub over HTTPS.

    git sends the token as an ``Authorization`` header to the repository's host only,
    configured through git's environment (:func:`config.builds.isolation.git_environment`):
    nothing is written to the worker's disk, and it is gone when the step ends, so the
    build's later steps never see it. Both forms of the token are the build's secrets.
    """

    def __init__(self, credentials: Any, repository: str) -> None:
        self.credentials = credentials
        parts = urlsplit(repository)
        self.origin = f"{parts.scheme}://{parts.netloc}/"

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any) -> Generator[Any, Any, dict[str, str]]:
        token = yield props.render(self.credentials)
        if not token:
            return {}
        header = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        props.useSecret(token, SECRET_NAME)
        props.useSecret(header, SECRET_NAME)
        return {f"http.{self.origin}.extraHeader": f"Authorization: Basic {header}"}


def fetch_config(credentials: Credentials | None, repository: str) -> Any:
    """What the checkout and merge steps fetch with: a checkout's token for an HTTPS
    repository, nothing for any other."""
    if credentials is None or not repository.startswith("https://"):
        return {}
    return GitAuthConfig(credentials.checkout(), repository)
