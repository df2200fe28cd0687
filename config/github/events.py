"""What a delivery builds: a push's changes, or what :mod:`config.github.pull_requests`
decides for a pull request (and :mod:`config.github.check_events` for GitHub's re-run and
Approve buttons), stored through the data API as a change source stores them."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import Any

from buildbot.util import datetime2epoch
from buildbot.www.hooks.github import GitHubEventHandler
from twisted.internet import defer

from config.github import check_events
from config.github.admins import Admins
from config.github.api import GitHubApi
from config.github.pull_requests import PullRequestEvents
from config.github.repositories import repository_key
from config.settings import Project, PullRequests


class Events:
    """Turns a delivery's event and payload into stored changes.

    A push becomes changes as Buildbot's own GitHub handler makes them (its public
    ``handle_push``, which also drops a push whose head commit says ``[skip ci]``),
    carrying our project's name rather than GitHub's ``owner/name``; pushes to
    repositories no project builds are dropped.
    """

    def __init__(
        self,
        master: Any,
        projects: dict[str, Project],
        pull_requests: PullRequests,
        token: Any,
        github_api_endpoint: str,
        forks: dict[str, list[str]],
        checks: bool = False,
        admins: dict[str, Any] | None = None,
    ) -> None:
        """``checks``: builds report as check runs; ``admins``: who may approve from
        GitHub (``users``, ``teams``, and the ``token`` to ask GitHub about teams)."""
        self.master = master
        self.projects = projects
        self.github = GitHubEventHandler(
            None, False, master=master, github_api_endpoint=github_api_endpoint
        )
        self.pull_requests = PullRequestEvents(
            master,
            projects,
            pull_requests,
            GitHubApi(master, github_api_endpoint, token, checks=checks),
            forks=forks,
        )
        admins = admins or {"users": [], "teams": []}
        members = GitHubApi(master, github_api_endpoint, admins.get("token"))
        self.checks = check_events.CheckEvents(
            master,
            projects,
            self.pull_requests,
            Admins(members if admins["teams"] else None, admins["users"], admins["teams"]),
        )

    @defer.inlineCallbacks
    def accept(self, event: str, payload: dict[str, Any]) -> Generator[Any, Any, str]:
        """Decide what a delivery builds and store its changes; what was done, in a line.
        ValueError for a payload that can never build."""
        if event == "pull_request":
            found, note = yield self.pull_requests.handle(payload)
        elif event in check_events.EVENTS:
            found, note = yield self.checks.handle(event, payload)
        else:
            found, note = yield self.push(payload)
        for change in found:
            when = change.get("when_timestamp")
            if isinstance(when, datetime):
                change["when_timestamp"] = datetime2epoch(when)
            changeid = yield self.master.data.updates.addChange(src="git", **change)
            note += f"; stored as change {changeid}"
        return str(note)

    @defer.inlineCallbacks
    def push(
        self, payload: dict[str, Any]
    ) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        """The changes of a push to a repository a project builds, and what they are.

        A push to a branch with an open pull request carries that pull request's
        properties, so it builds merged into the pull request's base.
        """
        try:
            key = repository_key(payload["repository"]["full_name"])
        except (KeyError, TypeError):
            raise ValueError("Push payload names no repository") from None
        project = self.projects.get(key)
        if project is None:
            return [], f"no project builds {key}"
        try:
            found, _ = self.github.handle_push(payload, "push")
        except (KeyError, TypeError, AttributeError):
            raise ValueError("Push payload is incomplete") from None
        kept = []
        for change in found:
            change["project"] = project.name
            extra = yield self.pull_requests.push_properties(project.name, change["branch"])
            if extra is None:
                continue  # a draft pull request's branch, and drafts do not build
            change["properties"].update(extra)
            kept.append(change)
        return kept, f"{len(kept)} of {len(found)} pushed commits to build"
