"""``/change_hook/github``: GitHub's deliveries, checked, turned into changes and stored."""

from __future__ import annotations

import hmac
import json
from collections.abc import Generator
from datetime import datetime
from hashlib import sha256
from typing import Any

from buildbot.plugins import util
from buildbot.process.properties import Properties
from buildbot.util import datetime2epoch
from buildbot.www.hooks.base import BaseHookHandler
from buildbot.www.hooks.github import GitHubEventHandler
from twisted.internet import defer
from twisted.python import log
from twisted.python.failure import Failure
from twisted.web.server import Request

from config.builds.limits import MB
from config.github import check_events
from config.github.admins import Admins
from config.github.api import GitHubApi
from config.github.credentials import MEMBERS, PULL_REQUESTS, PULL_REQUESTS_CHECKS, Credentials
from config.github.pull_requests import PullRequestEvents
from config.github.repositories import repository_key
from config.settings import Project, Settings

SIGNATURE_HEADER = b"X-Hub-Signature-256"
EVENTS = ("push", "pull_request", "ping", *check_events.EVENTS)
ANSWER_WITHIN = 5.0
"""Seconds a delivery waits for its changes to be stored before it is answered anyway:
GitHub gives up on a delivery after 10 s and never sends it again, while a database that
another process locks (a backup, the ``sqlite3`` shell) can make storing take longer."""


class GitHubHook(BaseHookHandler):
    """``/change_hook/github``: GitHub's push and pull request deliveries, signed as
    GitHub documents.

    A hook dialect of our own, through Buildbot's documented ``custom_class``: Buildbot
    4.3's GitHub dialect checks only the SHA-1 ``X-Hub-Signature``, while GitHub's
    documented signature is the SHA-256 ``X-Hub-Signature-256``, which this checks, always.
    Only push, pull_request, check_run, check_suite and ping events are accepted. A push
    becomes changes as Buildbot's own GitHub handler makes them (its public
    ``handle_push``, which also drops a push whose head commit says ``[skip ci]``),
    carrying our project's name rather than GitHub's ``owner/name``; pushes to
    repositories no project builds are dropped. :mod:`config.github.pull_requests`
    decides what a pull request delivery builds, :mod:`config.github.check_events` what
    re-runs and approvals from GitHub's checks do.
    The answer's body says what a delivery built, or why nothing.

    The hook stores the changes itself (through the data API's ``addChange``, as a change
    source does) rather than handing them to Buildbot's change hook resource, so that it
    can answer within :data:`ANSWER_WITHIN` whatever the database does: a delivery whose
    changes are not stored by then is answered 202 all the same, and they are stored as
    soon as the database takes them. Buildbot's own closing words are then always
    "no change found": none is left for it to add.
    """

    def __init__(self, master: Any, options: dict[str, Any]) -> None:
        super().__init__(master, options)
        self.secret = options["secret"]
        self.max_body: int = options["max_body"]
        self.projects: dict[str, Project] = options["projects"]
        api = options["github_api_endpoint"]
        self.github = GitHubEventHandler(None, False, master=master, github_api_endpoint=api)
        self.pull_requests = PullRequestEvents(
            master,
            self.projects,
            options["pull_requests"],
            GitHubApi(master, api, options["token"], checks=options["checks"]),
            forks=options["forks"],
        )
        admins: dict[str, Any] = options["admins"]
        members = GitHubApi(master, api, admins["token"]) if admins["teams"] else None
        self.checks = check_events.CheckEvents(
            master,
            self.projects,
            self.pull_requests,
            Admins(members, admins["users"], admins["teams"]),
        )

    @defer.inlineCallbacks
    def getChanges(self, request: Request) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        event = (request.getHeader(b"X-GitHub-Event") or b"").decode(errors="replace")
        if event not in EVENTS:
            raise ValueError(f"Unsupported event: {event or '(none)'}")
        payload = yield self.payload(request)
        if event == "ping":
            return [], "git"
        late = "accepted; its changes are stored once the database answers"
        note = yield first_of(self.master.reactor, self.accept(event, payload), ANSWER_WITHIN, late)
        log.msg(f"GitHub {event}: {note}")
        request.write(note.encode() + b"\n")  # type: ignore[no-untyped-call]
        return [], "git"

    @defer.inlineCallbacks
    def accept(self, event: str, payload: dict[str, Any]) -> Generator[Any, Any, str]:
        """Decide what a delivery builds and store its changes; what was done, in a line."""
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
    def payload(self, request: Request) -> Generator[Any, Any, dict[str, Any]]:
        """The delivery's JSON object, once its signature is checked."""
        assert request.content is not None
        declared = request.getHeader(b"Content-Length") or b"0"
        if not declared.isdigit() or int(declared) > self.max_body:
            raise ValueError(f"Payload over {self.max_body // MB} MB (limits.webhook_mb)")
        body = request.content.read(self.max_body + 1)
        if len(body) > self.max_body:
            raise ValueError(f"Payload over {self.max_body // MB} MB (limits.webhook_mb)")
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


def first_of(
    reactor: Any, work: defer.Deferred[str], seconds: float, late: str
) -> defer.Deferred[str]:
    """``work``'s result (or failure) when it comes within ``seconds``, else ``late``;
    ``work`` goes on either way, and a failure after ``seconds`` is logged."""
    answer: defer.Deferred[str] = defer.Deferred()
    timer = reactor.callLater(seconds, answer.callback, late)

    def done(result: str | Failure) -> str | None:
        if timer.active():
            timer.cancel()
            if isinstance(result, Failure):
                answer.errback(result)
                return None
            answer.callback(result)
        elif isinstance(result, Failure):
            log.msg(f"storing the changes of a delivery answered already: {result.getTraceback()}")
            return None
        return result

    work.addBoth(done)
    return answer


def hook_dialects(settings: Settings, credentials: Credentials | None) -> dict[str, Any]:
    """The www ``change_hook_dialects``: ``/change_hook/github`` when changes come by
    webhook; ``credentials`` for the GitHub calls pull requests need."""
    if settings.changes.kind != "github" or settings.github is None or credentials is None:
        return {}
    projects = {repository_key(p.repository): p for p in settings.projects}
    checks = settings.github.uses_checks()
    login = settings.auth.github
    return {
        "github": {
            "custom_class": GitHubHook,
            "projects": projects,
            "secret": util.Secret("github.webhook_secret"),
            "token": credentials.for_job(PULL_REQUESTS_CHECKS if checks else PULL_REQUESTS),
            "checks": checks,
            # Who may approve from GitHub: the web UI's GitHub admins.
            "admins": {
                "users": login.admin_users if login else [],
                "teams": login.admin_teams if login else [],
                "token": credentials.for_job(MEMBERS),
            },
            "github_api_endpoint": settings.github.api_url,
            "pull_requests": settings.github.pull_requests,
            "forks": {p.name: settings.fork_builders(p) for p in settings.projects},
            "max_body": int(settings.limits.webhook_mb * MB),
        }
    }
