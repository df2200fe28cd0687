"""The one place that turns Nagle's algorithm off on the master's worker connections.

Buildbot and buildbot-worker leave Twisted's default, Nagle's algorithm on, for the PB
connection between them. A build is a conversation of small messages, each waiting for
the other side's answer (start a command, its output and exit code, the acknowledgements),
so the kernel holds most of them back until the peer's delayed ACK arrives, 40 ms later on
Linux. That wait came several times per remote command: it was most of a build's time on
a warm worker (see the performance section of README.rst). Both ends must send at once:
this module mends the master's end, ``slave/nodelay.tac`` the worker's.

Buildbot sets TCP keepalive on each worker connection in one method and offers no hook
for other socket options, so the mend wraps that method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from buildbot.worker.protocols import pb

from config.mending import wrap_once


def _sending_at_once(setup: Callable[..., Any]) -> Callable[..., Any]:
    def before_connection_setup(self: pb.Listener, mind: Any, worker_name: str) -> Any:
        mind.broker.transport.setTcpNoDelay(True)
        return setup(self, mind, worker_name)

    return before_connection_setup


def install() -> None:
    """Make each worker connection this master accepts send without delay (idempotent)."""
    wrap_once(pb.Listener, "before_connection_setup", _sending_at_once)
