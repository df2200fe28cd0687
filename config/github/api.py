"""The few GitHub REST calls of the master: a pull request delivery's, the check runs',
an admin's team membership; each with the master's credentials for its job."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import requests
from buildbot.process.properties import Properties
from buildbot.util import httpclientservice
from twisted.internet import defer, threads
from twisted.python import log

TIMEOUT = 30.0
"""Seconds a check run call waits for GitHub."""


class GitHubApi:
    """GitHub's REST API as the master: ``token`` is a renderable of its credentials."""

    def __init__(self, master: Any, url: str, token: Any, checks: bool = False) -> None:
        self.master = master
        self.url = url
        self.token = token
        self.checks = checks
        """Whether builds report as check runs (else as commit statuses)."""

    @staticmethod
    def _headers(token: str) -> dict[str, str]:
        return {
            "User-Agent": "Buildbot",
            "Authorization": f"token {token}",
            "Accept": "application/vnd.github+json",
        }

    @defer.inlineCallbacks
    def _session(self, repository: str) -> Generator[Any, Any, Any]:
        token = yield self._token(repository)
        return httpclientservice.HTTPSession(
            self.master.httpservice, self.url, headers=self._headers(token)
        )

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
        self, repository: str, sha: str, contexts: list[str], description: str, number: int
    ) -> Generator[Any, Any, None]:
        """Says on each context (status or check run) that pull request ``number``'s
        commit waits; a check run offers admins the Approve button."""
        if self.checks:
            for context in contexts:
                yield self.check_run(
                    repository,
                    waiting_check_run(
                        context, sha, description, number, self.master.config.buildbotURL
                    ),
                )
            return
        session = yield self._session(repository)
        for context in contexts:
            body = {"state": "pending", "context": context, "description": description}
            response = yield session.post(f"/repos/{repository}/statuses/{sha}", json=body)
            if not 200 <= response.code < 300:
                log.msg(f"GitHub gave {response.code} for the status {context} of {sha}")

    @defer.inlineCallbacks
    def _token(self, repository: str) -> Generator[Any, Any, str]:
        properties = Properties()
        properties.master = self.master
        # A GitHub App's token is for the installation on the repository's owner.
        properties.setProperty("github_repository", repository, "GitHubApi")
        token: str = yield properties.render(self.token)
        return token

    @defer.inlineCallbacks
    def check_run(
        self, repository: str, body: dict[str, Any], run: int | None = None
    ) -> Generator[Any, Any, int | None]:
        """Creates a check run (``run`` None) or updates one; its id, None when refused.

        Updating is a PATCH, which Buildbot's HTTP client does not offer: the call runs
        with ``requests`` in a pool thread, bounded by :data:`TIMEOUT`.
        """
        token = yield self._token(repository)
        path = f"/repos/{repository}/check-runs" + ("" if run is None else f"/{run}")
        method = "POST" if run is None else "PATCH"
        if run is not None:  # an update names no commit
            body = {key: value for key, value in body.items() if key != "head_sha"}
        try:
            answer = yield threads.deferToThread(
                requests.request,
                method,
                self.url + path,
                json=body,
                headers=self._headers(token),
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            log.msg(f"GitHub did not answer {method} {path}: {type(error).__name__}")
            return None
        if not 200 <= answer.status_code < 300:
            log.msg(f"GitHub gave {answer.status_code} for {method} {path}: {answer.text[:300]!r}")
            return None
        return int(answer.json()["id"]) if run is None else run

    @defer.inlineCallbacks
    def in_team(self, repository: str, team: str, login: str) -> Generator[Any, Any, bool]:
        """Whether ``login`` is an active member of ``team`` (``org/team``), as the App on
        ``repository``'s owner sees it."""
        org, _, name = team.partition("/")
        slug = name.lower().replace(" ", "-")
        session = yield self._session(repository)
        response = yield session.get(f"/orgs/{org}/teams/{slug}/memberships/{login}")
        if response.code == 404:
            return False
        if not 200 <= response.code < 300:
            log.msg(f"GitHub gave {response.code} for the membership of {login} in {team}")
            return False
        data = yield response.json()
        return bool(data.get("state") == "active")


APPROVE = "approve"
"""The identifier of the Approve button of a waiting pull request's check runs."""
WAITING = "pull_request:"
"""The external id of a waiting pull request's check run: this and its number."""


def waiting_check_run(
    name: str, sha: str, description: str, number: int, details_url: str
) -> dict[str, Any]:
    """The check run of a waiting pull request's head commit, with the Approve button."""
    return {
        "name": name,
        "head_sha": sha,
        "status": "completed",
        "conclusion": "action_required",
        "details_url": details_url,
        "external_id": f"{WAITING}{number}",
        "output": {
            "title": "Waiting for an admin's approval",
            "summary": (
                f"{description} An admin approves this commit with the Approve button"
                " above, the web UI's Approve form, or the approve label; a new push"
                " waits again."
            ),
        },
        "actions": [
            {"label": "Approve", "description": "Build this commit (admins)", "identifier": APPROVE}
        ],
    }
