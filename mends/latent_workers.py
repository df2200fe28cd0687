"""Latent workers stop when idle from the start, and are asked to shut down before their
machine goes.

Replaces: ``buildbot.worker.latent.AbstractLatentWorker.attached`` (wrapped) and
``._soft_disconnect`` (wrapped).

Defects, each seen with our EC2 spot workers (``config/workers/ec2/``), and the same for any
latent worker:

- the idle timer starts only when a build finishes, so a worker whose build request went
  away before it connected runs (and bills) forever;
- an idle worker's connection is dropped and its machine stopped; until the machine is
  gone its worker reconnects, is refused and tries again (the original master looped on
  this).

No upstream issues yet.

Mends: the idle timer starts when a worker attaches without a build; the worker is asked to
exit before the connection is dropped. (Strong passwords need no mend: our latent workers
draw theirs from ``secrets``, new for each machine, :mod:`config.workers.passwords`.)

Gain: correctness: ``tests/integration/test_ec2_worker.py`` (an idle worker stops, no
reconnect loop) fails without them.

Remove when: upstream does each (the canaries in ``tests/unit/test_mend_canaries.py``
then fail).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from buildbot.worker.latent import AbstractLatentWorker
from twisted.internet import defer
from twisted.python import log

from mends.wrapping import replace

TARGETS = (
    "buildbot.worker.latent:AbstractLatentWorker.attached",
    "buildbot.worker.latent:AbstractLatentWorker._setBuildWaitTimer",
    "buildbot.worker.latent:AbstractLatentWorker._soft_disconnect",
)


def _idle_from_attach(attached: Callable[..., Any]) -> Callable[..., Any]:
    @defer.inlineCallbacks
    def idle_from_attach(self: AbstractLatentWorker, conn: Any) -> Generator[Any, Any, None]:
        yield attached(self, conn)
        if self.conn is not None and not self.building:
            self._setBuildWaitTimer()

    return idle_from_attach


def _shutdown_first(soft_disconnect: Callable[..., Any]) -> Callable[..., Any]:
    @defer.inlineCallbacks
    def shutdown_first(
        self: AbstractLatentWorker, fast: bool = False, stopping_service: bool = False
    ) -> Generator[Any, Any, None]:
        conn = self.conn
        if conn is not None:
            log.msg(f"worker {self.name}: asking it to shut down before its machine ends")
            try:
                yield conn.remoteShutdown()
            except Exception as error:
                log.msg(f"worker {self.name}: did not take the shutdown request: {error}")
        yield soft_disconnect(self, fast, stopping_service)

    return shutdown_first


def install() -> None:
    replace(AbstractLatentWorker, "attached", _idle_from_attach)
    replace(AbstractLatentWorker, "_soft_disconnect", _shutdown_first)
