"""Where changes come from: GitHub push webhooks (production) or a GitPoller (staging, local)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Generator
from hashlib import sha256
from typing import Any

from buildbot.changes.base import ChangeSource
from buildbot.plugins import changes, util
from buildbot.process.properties import Properties
from buildbot.www.hooks.base import BaseHookHandler
from buildbot.www.hooks.github import GitHubEventHandler
from twisted.internet import defer
from twisted.python import log
from twisted.web.server import Request

from config.settings import Project, Settings

SIGNATURE_HEADER = b"X-Hub-Signature-256"
EVENTS = ("push", "ping")


def poller(project: Project, interval: float) -> ChangeSource:
    """Polls every branch of the project's repository."""
    return changes.GitPoller(
        repourl=project.repository,
        branches=True,
        project=project.name,
        workdir=f"gitpoller-{project.name}",
        pollInterval=interval,
        pollAtLaunch=True,
        # A branch pushed at a commit that another branch already has is still a push
        # someone wants built.
        buildPushesWithNoCommits=True,
    )


def build(settings: Settings) -> list[ChangeSource]:
    """The change sources for ``changes.kind`` (webhooks need none: see hook_dialects)."""
    if settings.changes.kind != "poll":
        return []
    return [poller(project, settings.changes.interval) for project in settings.projects]


def repository_key(url: str) -> str:
    """``owner/name`` of a repository, whichever way its URL is written.

    ``https://github.com/Owner/Name.git``, ``git@github.com:Owner/Name`` and GitHub's
    ``full_name`` ``Owner/Name`` all give ``owner/name``.
    """
    path = url.rstrip("/").removesuffix(".git").replace(":", "/")
    return "/".join(path.split("/")[-2:]).lower()


class GitHubHook(BaseHookHandler):
    """``/change_hook/github``: GitHub's push deliveries, signed as GitHub documents.

    A hook dialect of our own, through Buildbot's documented ``custom_class``: Buildbot
    4.3's GitHub dialect checks only the SHA-1 ``X-Hub-Signature``, while GitHub's
    documented signature is the SHA-256 ``X-Hub-Signature-256``, which this checks, always.
    Only push and ping events are accepted. A push becomes changes as Buildbot's own
    GitHub handler makes them (its public ``handle_push``), carrying our project's name
    rather than GitHub's ``owner/name``; pushes to repositories no project builds are
    dropped.
    """

    def __init__(self, master: Any, options: dict[str, Any]) -> None:
        super().__init__(master, options)
        self.secret = options["secret"]
        self.projects: dict[str, str] = options["projects"]
        self.github = GitHubEventHandler(
            None, False, master=master, github_api_endpoint=options["github_api_endpoint"]
        )

    @defer.inlineCallbacks
    def getChanges(self, request: Request) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        event = (request.getHeader(b"X-GitHub-Event") or b"").decode(errors="replace")
        if event not in EVENTS:
            raise ValueError(f"Unsupported event: {event or '(none)'}")
        payload = yield self.payload(request)
        if event == "ping":
            return [], "git"
        return self.push(payload)

    @defer.inlineCallbacks
    def payload(self, request: Request) -> Generator[Any, Any, dict[str, Any]]:
        """The delivery's JSON object, once its signature is checked."""
        assert request.content is not None
        body = request.content.read()
        signature = (request.getHeader(SIGNATURE_HEADER) or b"").decode(errors="replace")
        if not signature.startswith("sha256="):
            raise ValueError("Request has no X-Hub-Signature-256 signature")
        properties = Properties()
        properties.master = self.master
        secret = yield properties.render(self.secret)
        expected = hmac.new(secret.encode(), body, sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.removeprefix("sha256=")):
            raise ValueError("Hash mismatch")

        content_type = request.getHeader(b"Content-Type")
        if content_type == b"application/json":
            text = body
        elif content_type == b"application/x-www-form-urlencoded":
            text = (request.args.get(b"payload") or [b""])[0]
        else:
            raise ValueError(f"Unknown content type: {content_type!r}")
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):  # nesting too deep for the decoder, too
            raise ValueError("Payload is not JSON") from None
        if not isinstance(payload, dict):
            raise ValueError("Payload is not a JSON object")
        return payload

    def push(self, payload: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """The changes of a push to a repository a project builds."""
        try:
            key = repository_key(payload["repository"]["full_name"])
        except (KeyError, TypeError):
            raise ValueError("Push payload names no repository") from None
        project = self.projects.get(key)
        if project is None:
            log.msg(f"GitHub push to {key}: no project builds it, ignored")
            return [], "git"
        try:
            found, vcs = self.github.handle_push(payload, "push")
        except (KeyError, TypeError, AttributeError):
            raise ValueError("Push payload is incomplete") from None
        for change in found:
            change["project"] = project
        return found, vcs


def hook_dialects(settings: Settings) -> dict[str, Any]:
    """The www ``change_hook_dialects``: ``/change_hook/github`` when changes come by webhook."""
    if settings.changes.kind != "github" or settings.github is None:
        return {}
    projects = {repository_key(p.repository): p.name for p in settings.projects}
    return {
        "github": {
            "custom_class": GitHubHook,
            "projects": projects,
            "secret": util.Secret("github.webhook_secret"),
            "github_api_endpoint": settings.github.api_url,
        }
    }
