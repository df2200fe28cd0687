"""``/change_hook/github``: GitHub's deliveries, checked, kept in the spool and processed."""

from __future__ import annotations

import hmac
from collections.abc import Generator
from hashlib import sha256
from typing import Any

from buildbot.plugins import util
from buildbot.process.properties import Properties
from buildbot.www.hooks.base import BaseHookHandler
from twisted.internet import defer
from twisted.python import log
from twisted.python.failure import Failure
from twisted.web.server import Request

from config.builds.limits import MB
from config.github.check_events import EVENTS as CHECK_EVENTS
from config.github.credentials import MEMBERS, PULL_REQUESTS, PULL_REQUESTS_CHECKS, Credentials
from config.github.deliveries import Deliveries, already_received, deliveries
from config.github.repositories import repository_key
from config.github.spool import Delivery, delivery_id
from config.settings import Settings

SIGNATURE_HEADER = b"X-Hub-Signature-256"
DELIVERY_HEADER = b"X-GitHub-Delivery"
EVENTS = ("push", "pull_request", "ping", *CHECK_EVENTS)
ANSWER_WITHIN = 5.0
"""Seconds a delivery waits for its changes to be stored before it is answered 202 anyway:
GitHub gives up on a delivery after 10 s, while a database that another process locks (a
backup, the ``sqlite3`` shell) can make storing take longer. The delivery is in the spool
by then, and is processed as soon as the database takes it."""
LATE = "accepted; kept in the spool, its changes are stored once the database answers"


class GitHubHook(BaseHookHandler):
    """``/change_hook/github``: GitHub's push and pull request deliveries, signed as
    GitHub documents.

    A hook dialect of our own, through Buildbot's documented ``custom_class``: Buildbot
    4.3's GitHub dialect checks only the SHA-1 ``X-Hub-Signature``, while GitHub's
    documented signature is the SHA-256 ``X-Hub-Signature-256``, which this checks, always.
    Only push, pull_request, check_run, check_suite (:mod:`config.github.check_events`)
    and ping events are accepted, as JSON objects.

    A signed delivery is written to the spool before it is answered, then processed
    (:mod:`config.github.deliveries`): the answer's body says what it built, or why
    nothing; one not processed within :data:`ANSWER_WITHIN` is answered 202, and is
    processed as soon as the database takes it, after a restart if need be. A delivery
    whose ``X-GitHub-Delivery`` id was processed already builds nothing again. The hook
    stores the changes itself (through the data API, as a change source does) rather than
    handing them to Buildbot's change hook resource, whose closing words are then always
    "no change found": none is left for it to add.
    """

    def __init__(self, master: Any, options: dict[str, Any]) -> None:
        super().__init__(master, options)
        self.secret = options["secret"]
        self.max_body: int = options["max_body"]

    @defer.inlineCallbacks
    def getChanges(self, request: Request) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        event = (request.getHeader(b"X-GitHub-Event") or b"").decode(errors="replace")
        if event not in EVENTS:
            raise ValueError(f"Unsupported event: {event or '(none)'}")
        body = yield self.signed_body(request)
        content_type = (request.getHeader(b"Content-Type") or b"").decode(errors="replace")
        delivery = Delivery(
            event, delivery_id(request.getHeader(DELIVERY_HEADER)), content_type, body
        )
        delivery.payload()  # what is not a JSON object is refused, and not kept
        if event == "ping":
            return [], "git"
        service = deliveries(self.master)
        if service.pending(delivery):
            status, note = 200, already_received(delivery)
        else:
            status, note = yield self.kept(service, delivery)
        log.msg(f"GitHub {event} {delivery.id}: {note}")
        request.setResponseCode(status)
        request.write(note.encode() + b"\n")  # type: ignore[no-untyped-call]
        return [], "git"

    @defer.inlineCallbacks
    def kept(self, service: Deliveries, delivery: Delivery) -> Generator[Any, Any, tuple[int, str]]:
        """Write ``delivery`` to the spool, then process it: 200 and what was done, or 202
        when that takes longer than :data:`ANSWER_WITHIN` or fails and is tried again."""
        name = yield service.take(delivery)
        work = service.process(name, delivery)
        try:
            note = yield first_of(self.master.reactor, work, ANSWER_WITHIN, LATE)
        except ValueError:
            raise  # a payload that never builds: 400
        except Exception as error:
            log.msg(f"GitHub delivery {delivery.id} failed, and is tried again: {error}")
            return 202, f"accepted; kept in the spool and tried again: {error}"
        return (202 if note == LATE else 200), str(note)

    @defer.inlineCallbacks
    def signed_body(self, request: Request) -> Generator[Any, Any, bytes]:
        """The delivery's body, once its size and signature are checked."""
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
        return bytes(body)


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
            log.msg(f"processing a delivery answered already: {result.getTraceback()}")
            return None
        return result

    work.addBoth(done)
    return answer


def hook_dialects(settings: Settings) -> dict[str, Any]:
    """The www ``change_hook_dialects``: ``/change_hook/github`` when changes come by
    webhook (:func:`delivery_service` processes what it takes)."""
    if settings.changes.kind != "github" or settings.github is None:
        return {}
    return {
        "github": {
            "custom_class": GitHubHook,
            "secret": util.Secret("github.webhook_secret"),
            "max_body": int(settings.limits.webhook_mb * MB),
        }
    }


def delivery_service(settings: Settings, credentials: Credentials | None) -> list[Deliveries]:
    """The service that keeps and processes the webhook's deliveries, when changes come by
    webhook; ``credentials`` for the GitHub calls pull requests need."""
    if settings.changes.kind != "github" or settings.github is None or credentials is None:
        return []
    checks = settings.github.uses_checks()
    login = settings.auth.github
    return [
        Deliveries(
            attempts=settings.github.delivery_attempts,
            retry_wait=settings.github.delivery_retry_wait,
            projects={repository_key(p.repository): p for p in settings.projects},
            token=credentials.for_job(PULL_REQUESTS_CHECKS if checks else PULL_REQUESTS),
            checks=checks,
            # Who may approve from GitHub: the web UI's GitHub admins.
            admins={
                "users": login.admin_users if login else [],
                "teams": login.admin_teams if login else [],
                "token": credentials.for_job(MEMBERS),
            },
            github_api_endpoint=settings.github.api_url,
            pull_requests=settings.github.pull_requests,
            forks={p.name: settings.fork_builders(p) for p in settings.projects},
        )
    ]
