"""The few GitHub REST calls a pull request delivery needs, with the master's credentials."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.process.properties import Properties
from buildbot.util import httpclientservice
from twisted.internet import defer
from twisted.python import log


class GitHubApi:
    """GitHub's REST API as the master: ``token`` is a renderable of its credentials."""

    def __init__(self, master: Any, url: str, token: Any) -> None:
        self.master = master
        self.url = url
        self.token = token

    @defer.inlineCallbacks
    def _session(self, repository: str) -> Generator[Any, Any, Any]:
        properties = Properties()
        properties.master = self.master
        # A GitHub App's token is for the installation on the repository's owner.
        properties.setProperty("github_repository", repository, "GitHubApi")
        token = yield properties.render(self.token)
        headers = {"User-Agent": "Buildbot", "Authorization": f"token {token}"}
        return httpclientservice.HTTPSession(self.master.httpservice, self.url, headers=headers)

    @defer.inlineCallbacks
    def commit_message(self, repository: str, sha: str) -> Generator[Any, Any, str]:
        """The commit's message; empty when GitHub does not answer (the build goes ahead)."""
        session = yield self._session(repository)
        response = yield session.get(f"/repos/{repository}/commits/{sha}")
        if not 200 <= response.code < 300:
            log.msg(f"GitHub gave {response.code} for commit {sha} of {repository}")
            return ""
        data = yield response.json()
        return str(data.get("commit", {}).get("message", ""))

    @defer.inlineCallbacks
    def pending(
        self, repository: str, sha: str, contexts: list[str], description: str
    ) -> Generator[Any, Any, None]:
        session = yield self._session(repository)
        for context in contexts:
            body = {"state": "pending", "context": context, "description": description}
            response = yield session.post(f"/repos/{repository}/statuses/{sha}", json=body)
            if not 200 <= response.code < 300:
                log.msg(f"GitHub gave {response.code} for the status {context} of {sha}")
