"""The EC2 workers' AWS calls: threads of their own, waits on the reactor, terminates that
hold, and a sweep for instances left behind.

Twisted's shared thread pool (10 threads) also serves the REST API, logins (bcrypt) and
token minting. A worker that waited for its instance by sleeping in one of those threads
(Buildbot's ``EC2LatentWorker`` does) held it for minutes: ten instances booting at once
stalled the web UI and the webhook. Here every boto3 call is one request, made in a
thread pool of the EC2 workers' own (one thread per worker, and one for the sweep and the
terminates that go on in the background), and every wait between calls (a poll, a
backoff) is a delayed call on the reactor. No thread ever sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from buildbot.util.service import SharedService
from twisted.internet import defer, task, threads
from twisted.python import log, threadpool

from config.workers.ec2.aws import problem, thd_tagged, thd_terminate
from config.workers.ec2.launch import tags_of
from config.workers.ec2.master_id import MASTER_ID_TAG, master_id
from config.workers.ec2.retry import Backoff, transient

if TYPE_CHECKING:
    from config.workers.ec2.worker import SpotWorker

T = TypeVar("T")
Say = Callable[[str], None]


class Ec2Calls(SharedService):
    """One per master (``Ec2Calls.getService(master)``), started and stopped with it: the
    threads every EC2 worker's calls run in, and what outlives one worker's start or stop.

    Workers enlist when they start and leave when they stop; the pool has a thread for
    each, plus one. A moment after the first worker of a pool enlists, the instances
    tagged with that pool and this master's id (:mod:`.master_id`) that no worker owns
    are terminated: the leak backstop after a crash, or a terminate that never held before
    the master stopped.
    """

    backoff = Backoff(first=0.5, cap=20.0)
    """Between tries of a call AWS refused for a passing reason (throttling, 5xx, a
    broken connection)."""
    terminate_backoff = Backoff(first=2.0, cap=300.0)
    """Between tries of a terminate that failed: tried until it holds."""
    sweep_after = 2.0
    """Seconds after a pool's first worker enlists until its instances are swept, so that
    the pools of one configuration are swept together."""

    def __init__(self) -> None:
        super().__init__()
        self.workers: dict[str, SpotWorker] = {}
        """The enlisted workers, by name (Buildbot's services hash by their settings)."""
        self.terminating: set[str] = set()
        """Instances whose terminate failed and is being tried again."""
        self.master_id = ""
        """This master's id, which its workers tag their instances with (set at start)."""
        self._swept: set[str] = set()
        self._to_sweep: dict[str, SpotWorker] = {}
        self._sweep: Any = None
        self._retries: set[defer.Deferred[None]] = set()
        self._pool: Any = None

    # --- the threads -----------------------------------------------------------------

    def startService(self) -> Any:
        self.master_id = master_id(Path(self.master.basedir))
        log.msg(f"EC2: this master's instances are tagged {MASTER_ID_TAG}={self.master_id}")
        self._pool = threadpool.ThreadPool(minthreads=0, maxthreads=self._size(), name="ec2")
        self._pool.start()
        return super().startService()

    @defer.inlineCallbacks
    def stopService(self) -> Generator[Any, Any, None]:
        if self._sweep is not None and self._sweep.active():
            self._sweep.cancel()
        for retry in list(self._retries):
            retry.cancel()
        for instance_id in sorted(self.terminating):
            log.msg(
                f"EC2: instance {instance_id} may still run (its terminate never held); "
                "the next start's sweep terminates it",
                isError=True,
            )
        yield super().stopService()
        # Every worker has stopped: what is left is at most one call in flight per thread.
        self._pool.stop()

    def _size(self) -> int:
        return len(self.workers) + 1

    def enlist(self, worker: SpotWorker) -> None:
        """``worker`` makes its calls here from now on; its pool is swept if not yet."""
        self.workers[worker.name] = worker
        self._pool.adjustPoolsize(maxthreads=self._size())
        pool = worker.launch.pool
        if pool in self._swept:
            return
        self._swept.add(pool)
        self._to_sweep[pool] = worker
        if self._sweep is None or not self._sweep.active():
            self._sweep = self.master.reactor.callLater(self.sweep_after, self.sweep)

    def leave(self, worker: SpotWorker) -> None:
        if self.workers.get(worker.name) is worker:
            del self.workers[worker.name]
        self._pool.adjustPoolsize(maxthreads=self._size())

    def call(self, blocking: Callable[..., T], *args: Any) -> defer.Deferred[T]:
        """``blocking(*args)`` (one AWS request) in one of the EC2 threads."""
        return threads.deferToThreadPool(self.master.reactor, self._pool, blocking, *args)

    @defer.inlineCallbacks
    def ask(
        self, what: str, blocking: Callable[..., T], *args: Any, attempts: int, say: Say
    ) -> Generator[Any, Any, T]:
        """``blocking(*args)`` in an EC2 thread, asked again with backoff while AWS refuses
        it for a passing reason, up to ``attempts`` tries in all."""
        failures = 0
        while True:
            try:
                result: T = yield self.call(blocking, *args)
                return result
            except Exception as error:
                failures += 1
                if not transient(error) or failures >= attempts:
                    raise
                wait = self.backoff.delay(failures)
                say(f"{what}: {problem(error)}; asking again in {wait:.1f}s")
                yield self.pause(wait)

    def pause(self, seconds: float) -> defer.Deferred[None]:
        """Wait on the reactor (cancelled if the master stops meanwhile)."""
        wait: defer.Deferred[None] = task.deferLater(self.master.reactor, seconds)
        self._retries.add(wait)
        return wait.addBoth(self._forget, wait)

    def _forget(self, result: Any, wait: defer.Deferred[None]) -> Any:
        self._retries.discard(wait)
        return result

    # --- terminates that hold --------------------------------------------------------

    @defer.inlineCallbacks
    def terminate(self, ec2: Any, instance_id: str, say: Say) -> Generator[Any, Any, bool]:
        """Ask AWS to terminate the instance: True if it held at once. If not, it is asked
        again in the background, with backoff, until it holds or the master stops."""
        try:
            yield self.call(thd_terminate, ec2, instance_id)
            return True
        except Exception as error:
            say(f"could not terminate {instance_id}: {problem(error)}; trying again")
        self.terminating.add(instance_id)
        self._until_terminated(ec2, instance_id, say)
        return False

    @defer.inlineCallbacks
    def _until_terminated(self, ec2: Any, instance_id: str, say: Say) -> Generator[Any, Any, None]:
        failures = 1
        try:
            while True:
                wait = self.terminate_backoff.delay(failures)
                say(f"terminating {instance_id} again in {wait:.1f}s")
                yield self.pause(wait)
                try:
                    yield self.call(thd_terminate, ec2, instance_id)
                except Exception as error:
                    failures += 1
                    say(f"could not terminate {instance_id}: {problem(error)}")
                    continue
                say(f"instance {instance_id} terminated after {failures + 1} tries")
                return
        except defer.CancelledError:
            return  # the master stops: stopService says what is left
        finally:
            self.terminating.discard(instance_id)

    # --- the leak sweep --------------------------------------------------------------

    @defer.inlineCallbacks
    def sweep(self) -> Generator[Any, Any, None]:
        """Terminate the instances of the pools enlisted lately that no worker owns."""
        pools, self._to_sweep = self._to_sweep, {}
        for pool, worker in sorted(pools.items()):
            tags = {MASTER_ID_TAG: self.master_id, "buildbot-pool": pool}
            try:
                found = yield self.ask(
                    f"EC2 sweep of pool {pool}",
                    thd_tagged,
                    worker.ec2(),
                    tags,
                    attempts=worker.launch.api_attempts,
                    say=log.msg,
                )
            except Exception as error:
                log.msg(f"EC2 sweep: cannot list pool {pool}'s instances: {problem(error)}")
                continue
            for instance in found:
                if instance["InstanceId"] in self.terminating or any(
                    w.owns(instance) for w in self.workers.values()
                ):
                    continue
                self._leaked(worker, instance)

    def _leaked(self, worker: SpotWorker, instance: dict[str, Any]) -> None:
        tags = tags_of(instance)
        # An error line: the ops stream (config/zulip/errors.py) carries it to Zulip.
        log.msg(
            f"EC2 sweep: terminating instance {instance['InstanceId']} "
            f"({tags.get('Name', 'no name')}, launched {instance.get('LaunchTime')}, "
            f"{instance['State']['Name']}): tagged as this master's ({MASTER_ID_TAG} "
            f"{self.master_id}, pool {tags.get('buildbot-pool')}) but no worker of this "
            "master owns it",
            isError=True,
        )
        self.terminate(worker.ec2(), instance["InstanceId"], log.msg)
