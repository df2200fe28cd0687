"""The delivery service: what a stopped master left in the spool is processed once it has
started again, a redelivery builds nothing, and a payload that can never build is dropped."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.python import log
from twisted.trial import unittest

from config.github import spool
from config.github.deliveries import SPOOL, Deliveries, already_received
from config.github.spool import Delivery
from config.settings import PullRequests
from tests.fake_master import make_master

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    from buildbot.test.reactor import TestReactorMixin


class InThisThread(Deliveries):
    """The service with its file I/O run in the test's thread: the test reactor runs no
    threads."""

    def _io(self, work: Any, *args: Any) -> defer.Deferred[Any]:
        return defer.maybeDeferred(work, *args)


class GitHubDown:
    """Events whose every delivery fails, as when GitHub does not answer."""

    def __init__(self) -> None:
        self.tries = 0

    def accept(self, event: str, payload: dict[str, Any]) -> defer.Deferred[str]:
        self.tries += 1
        return defer.fail(ConnectionRefusedError("GitHub does not answer"))


def push(repository: str, delivery: str) -> Delivery:
    body = json.dumps({"ref": "refs/heads/x", "repository": {"full_name": repository}})
    return Delivery("push", delivery, "application/json", body.encode())


class DeliveriesLeftInTheSpool(TestReactorMixin, unittest.TestCase):
    def setUp(self) -> Any:
        self.setup_test_reactor()
        made = make_master(self, wantDb=True, wantMq=True)
        return made.addCallback(self.made)

    def made(self, master: Any) -> None:
        self.master = master
        self.basedir = Path(master.basedir)

    def leave(self, *deliveries: Delivery) -> list[str]:
        """What a master killed after its answers left in the spool."""
        spool.prepare(self.basedir / SPOOL)
        names = []
        for delivery in deliveries:
            names.append(delivery.file_name())
            spool.write(self.basedir / SPOOL, names[-1], delivery)
        return names

    @defer.inlineCallbacks
    def start(self) -> Any:
        service = InThisThread(
            attempts=3,
            retry_wait=60.0,
            projects={},
            token="unused",
            github_api_endpoint="http://127.0.0.1:9",
            pull_requests=PullRequests(),
            forks={},
        )
        yield service.setServiceParent(self.master)
        yield service.startService()
        self.addCleanup(service.stopService)
        return service

    @defer.inlineCallbacks
    def test_what_is_left_is_processed_once_the_master_has_started(self) -> Any:
        first, broken, again = self.leave(
            push("someone/else", "id-1"),
            Delivery("push", "id-2", "application/json", b"{}"),  # names no repository
            push("someone/else", "id-1"),
        )
        service = yield self.start()
        # Nothing before the master says it has started: its schedulers would not listen.
        assert spool.waiting(self.basedir / SPOOL) == [first, broken, again]

        started = {"masterid": self.master.masterid, "name": "master", "active": True}
        self.master.mq.callConsumer(("masters", str(self.master.masterid), "started"), started)

        assert spool.waiting(self.basedir / SPOOL) == []
        assert (yield service.delivered.seen("id-1"))
        assert not (yield service.delivered.seen("id-2"))  # dropped, never processed

        # GitHub's redelivery of the first, later: nothing more.
        redelivery = push("someone/else", "id-1")
        name = yield service.take(redelivery)
        assert spool.waiting(self.basedir / SPOOL) == [name]
        note = yield service.process(name, redelivery)
        assert note == already_received(redelivery)
        assert spool.waiting(self.basedir / SPOOL) == []

    @defer.inlineCallbacks
    def test_a_taken_delivery_is_pending_until_processed(self) -> Any:
        service = yield self.start()
        delivery = push("someone/else", "id-3")
        assert not service.pending(delivery)
        name = yield service.take(delivery)
        assert service.pending(delivery) and service.pending(push("other/repo", "id-3"))
        note = yield service.process(name, delivery)
        assert note == "no project builds someone/else"
        assert not service.pending(delivery)
        # A copy of a body being processed is pending too, under any id or none.
        unnamed = push("someone/else", spool.delivery_id(None))
        name = yield service.take(unnamed)
        assert service.pending(push("someone/else", spool.delivery_id(None)))
        assert service.pending(push("someone/else", "id-5"))
        assert not service.pending(push("other/repo", spool.delivery_id(None)))
        yield service.process(name, unnamed)
        assert not (yield service.delivered.seen(unnamed.id))
        assert (yield service.delivered.seen(*unnamed.keys()))  # its body is known

    @defer.inlineCallbacks
    def test_a_delivery_that_keeps_failing_is_tried_with_backoff_then_set_aside(self) -> Any:
        service = yield self.start()  # 3 attempts, the first retry after 60 s
        service.events = events = GitHubDown()
        errors: list[str] = []

        def observe(event: dict[str, Any]) -> None:
            if event.get("isError") and "log_failure" not in event:
                errors.append(log.textFromEventDict(event) or "")

        log.addObserver(observe)
        self.addCleanup(log.removeObserver, observe)
        delivery = push("someone/else", "id-4")
        name = yield service.take(delivery)
        try:
            yield service.process(name, delivery)
        except ConnectionRefusedError:
            pass  # the webhook answers 202, and the delivery stays in the spool
        else:
            raise AssertionError("processed while GitHub does not answer")
        assert spool.waiting(self.basedir / SPOOL) == [name]

        self.reactor.advance(60)  # the second try, due 60 s after the first
        assert events.tries == 2
        self.reactor.advance(60)  # the third is due 120 s after the second
        assert events.tries == 2 and errors == []
        self.reactor.advance(60)
        assert events.tries == 3
        assert spool.waiting(self.basedir / SPOOL) == []
        failed = self.basedir / SPOOL / spool.FAILED
        assert spool.read(failed, name) == delivery  # kept as it came
        [said] = errors
        assert "push delivery id-4 failed 3 times and is not tried again" in said
        assert "GitHub does not answer" in said

        self.reactor.advance(3600)
        assert events.tries == 3
        assert not service.tries
