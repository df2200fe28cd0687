"""How the master authenticates to GitHub, and what a checkout fetches with.

The master holds a personal access token, or a GitHub App (:mod:`config.github.app`) whose
installation tokens it mints as it goes. :func:`credentials` is made once per master (the
assembly hands it to the reporters, the webhook and the checkouts), so they share one
cache of tokens.
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

from config.github.app import SECRET_NAME, AppTokens, InstallationToken
from config.settings import GitHub


def credentials(github: GitHub) -> Any:
    """What authenticates the master to GitHub: a renderable of the App's installation
    token, or the personal access token's secret."""
    if github.app is not None:
        return InstallationToken(AppTokens(github.api_url, github.app))
    return util.Secret("github.token")


@implementer(IRenderable)
class GitAuthEnv:
    """The environment of a step that fetches from GitHub over HTTPS.

    git sends the token as an ``Authorization`` header to the repository's host only,
    configured through git's environment (``GIT_CONFIG_COUNT``): nothing is written to the
    worker's disk, and it is gone when the step ends, so the build's later steps (a fork's
    untrusted code, say) never see it. Both forms of the token are the build's secrets.
    """

    def __init__(self, credentials: Any, repository: str) -> None:
        self.credentials = credentials
        parts = urlsplit(repository)
        self.origin = f"{parts.scheme}://{parts.netloc}/"

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any) -> Generator[Any, Any, dict[str, str]]:
        token = yield props.render(self.credentials)
        header = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        props.useSecret(token, SECRET_NAME)
        props.useSecret(header, SECRET_NAME)
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{self.origin}.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {header}",
        }


def checkout_env(github: GitHub | None, credentials: Any, repository: str) -> Any:
    """What the checkout and merge steps fetch with: the master's GitHub credentials for
    an HTTPS repository, nothing for any other."""
    if github is None or not repository.startswith("https://"):
        return {}
    return GitAuthEnv(credentials, repository)
