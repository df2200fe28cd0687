"""The delivery service: signed deliveries kept in the spool, processed once each.

The webhook hands each signed delivery to :meth:`Deliveries.take`, which writes it to the
spool (:mod:`config.github.spool`, in ``webhook-spool/`` of the master's directory) before
the delivery is answered, then to :meth:`Deliveries.process`: a delivery whose id, or
whose signed body, was processed before builds nothing (:mod:`config.github.delivered`);
any other has its changes stored and its pull request's GitHub calls made
(:mod:`config.github.events`), its keys recorded, and its file removed. A payload that can
never build is dropped; any other failure (a database that is down, GitHub not answering)
keeps the file, and the delivery is tried again, ``retry_wait`` seconds later and then
twice as long after each next failure, ``attempts`` times in all: then it is set aside in
the spool's ``failed/`` and said in an error line (which the ops stream carries,
:mod:`config.zulip.errors`). The tries are counted in memory: a restart counts afresh.
What a stopped or killed master left in the spool is processed once the master has started
again (when its schedulers listen), oldest first.

The spool's file I/O runs in one thread of the service's own, never in the reactor's and
never in Twisted's shared pool.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildbot.util import service
from twisted.internet import defer, task, threads
from twisted.python import log
from twisted.python.threadpool import ThreadPool

from config.github import spool
from config.github.delivered import Delivered
from config.github.events import Events

SERVICE = "github-deliveries"
SPOOL = "webhook-spool"
"""The spool's directory, in the master's directory (the data volume in production)."""


@dataclass
class Tries:
    """A delivery's failed tries so far, and when (reactor seconds) the next one is due."""

    failed: int
    next_at: float


class Deliveries(service.BuildbotService):
    """Keeps, processes and replays GitHub's deliveries; see the module's docstring.

    Configured with how often a failing delivery is tried (``attempts``, ``retry_wait``)
    and :class:`config.github.events.Events`'s arguments.
    """

    name = SERVICE

    def checkConfig(self, attempts: int, retry_wait: float, **events: Any) -> None:
        super().checkConfig()

    @defer.inlineCallbacks
    def reconfigService(
        self, attempts: int, retry_wait: float, **events: Any
    ) -> Generator[Any, Any, None]:
        self.events = Events(self.master, **events)
        self.attempts = attempts
        self.retry_wait = retry_wait
        if not hasattr(self, "working"):
            self.directory = Path(self.master.basedir) / SPOOL
            self.delivered = Delivered(self.master)
            self.working: dict[str, list[str]] = {}
            """The spool's files being written or processed, by name: their deliveries'
            keys."""
            self.tries: dict[str, Tries] = {}
            """The spool's files whose processing failed, by name."""
            self.pool = ThreadPool(minthreads=1, maxthreads=1, name=SERVICE)
        yield super().reconfigService()

    @defer.inlineCallbacks
    def startService(self) -> Generator[Any, Any, None]:
        yield super().startService()  # configures it
        self.pool.start()
        yield self._io(spool.prepare, self.directory)
        # A restarted master processes what is left once it has started: a change
        # stored before its schedulers listen would build nothing.
        self._started = yield self.master.mq.startConsuming(
            lambda *_: self.replay(), ("masters", str(self.master.masterid), "started")
        )
        self._retries = task.LoopingCall(self.replay)
        self._retries.clock = self.master.reactor
        self._retries.start(self.retry_wait, now=False)

    @defer.inlineCallbacks
    def stopService(self) -> Generator[Any, Any, None]:
        if self._retries.running:
            self._retries.stop()
        self._started.stopConsuming()
        yield super().stopService()
        self.pool.stop()

    def _io(self, work: Any, *args: Any) -> defer.Deferred[Any]:
        return threads.deferToThreadPool(self.master.reactor, self.pool, work, *args)

    def pending(self, delivery: spool.Delivery) -> bool:
        """Whether a delivery of this id, or a copy of its body, is in the spool and not
        processed yet."""
        keys = set(delivery.keys())
        return any(keys.intersection(working) for working in self.working.values())

    @defer.inlineCallbacks
    def take(self, delivery: spool.Delivery) -> Generator[Any, Any, str]:
        """Write ``delivery`` to the spool; its name there, once it is on disk."""
        name = delivery.file_name()
        self.working[name] = delivery.keys()
        try:
            yield self._io(spool.write, self.directory, name, delivery)
        except BaseException:
            del self.working[name]
            raise
        return name

    @defer.inlineCallbacks
    def process(self, name: str, delivery: spool.Delivery) -> Generator[Any, Any, str]:
        """Build what a taken delivery asks for, once; what was done, in a line.

        Fails with ValueError (and drops the delivery) for a payload that can never
        build; with anything else it stays in the spool for the next try, or is set
        aside after its last.
        """
        try:
            keys = delivery.keys()
            if (yield self.delivered.seen(*keys)):
                note = already_received(delivery)
            else:
                note = yield self.events.accept(delivery.event, delivery.payload())
                yield self.delivered.record(*keys)
            yield self._io(spool.remove, self.directory, name)
        except ValueError:
            yield self._io(spool.remove, self.directory, name)
            raise
        except Exception as error:
            yield self.failed(name, delivery, error)
            raise
        finally:
            self.working.pop(name, None)
        self.tries.pop(name, None)
        return str(note)

    @defer.inlineCallbacks
    def failed(
        self, name: str, delivery: spool.Delivery, error: Exception
    ) -> Generator[Any, Any, None]:
        """Count a failed try: the next is due after a wait twice the last one's, or,
        after the last try, the delivery is set aside and said on the ops stream."""
        tries = self.tries.pop(name, Tries(0, 0.0))
        tries.failed += 1
        if tries.failed < self.attempts:
            wait = self.retry_wait * 2 ** (tries.failed - 1)
            tries.next_at = self.master.reactor.seconds() + wait
            self.tries[name] = tries
            return
        try:
            where = yield self._io(spool.set_aside, self.directory, name)
        except OSError as moving:
            log.msg(f"GitHub delivery {delivery.id} cannot be set aside: {moving}")
            return
        # An error line: the ops stream (config/zulip/errors.py) carries it to Zulip.
        log.msg(
            f"GitHub {delivery.event} delivery {delivery.id} failed {tries.failed} times "
            f"and is not tried again (kept in {SPOOL}/{spool.FAILED}/{where.name}); "
            f"the last failure: {error}",
            isError=True,
        )

    @defer.inlineCallbacks
    def replay(self) -> Generator[Any, Any, None]:
        """Process, oldest first, the spool's deliveries that nothing processes now."""
        try:
            names = yield self._io(spool.waiting, self.directory)
        except OSError as error:
            log.msg(f"the spool of GitHub deliveries cannot be read: {error}")
            return
        now = self.master.reactor.seconds()
        for name in names:
            tries = self.tries.get(name)
            if name in self.working or not self.running or (tries and tries.next_at > now):
                continue
            self.working[name] = []
            try:
                delivery = yield self._io(spool.read, self.directory, name)
            except Exception as error:
                self.working.pop(name, None)
                log.msg(f"GitHub delivery {name} in the spool cannot be read: {error}")
                continue
            if delivery is None:
                self.working.pop(name, None)
                self.tries.pop(name, None)
                continue
            self.working[name] = delivery.keys()
            try:
                note = yield self.process(name, delivery)
                log.msg(f"GitHub {delivery.event} {delivery.id}, from the spool: {note}")
            except Exception as error:
                log.msg(f"GitHub {delivery.event} {delivery.id}, from the spool, failed: {error}")


def already_received(delivery: spool.Delivery) -> str:
    """What a redelivery is answered."""
    return f"delivery {delivery.id} already received: nothing more to build"


def deliveries(master: Any) -> Deliveries:
    """The master's delivery service (configured with webhooks)."""
    found: Deliveries = master.service_manager.namedServices[SERVICE]
    return found
