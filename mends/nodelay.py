"""Worker connections send at once: TCP_NODELAY on both ends of the PB link.

Replaces: ``buildbot.worker.protocols.pb.Listener.before_connection_setup`` (wrapped) on the
master, and the worker's ``BotFactory.gotPerspective`` (``nodelay_worker.tac``, appended
to each worker's ``buildbot.tac``).

Defect: Buildbot and buildbot-worker leave Nagle's algorithm on for the PB connection. A
build is a conversation of small messages, each waiting for the other side's answer, so
the kernel holds most of them back until the peer's delayed ACK arrives, 40 ms later on
Linux, several times per remote command. Buildbot sets TCP keepalive in this one method
and offers no hook for other socket options. No upstream issue yet.

Mend: set TCP_NODELAY on the connection before Buildbot sets it up. A transport that is
not TCP (a UNIX socket, a test's loopback transport) has no such option: it is left alone,
and the worker attaches as it would without the mend.

Gain: see the mends table of docs/mends.rst (``make bench``, rows "push to build start" and
"burst: master overhead per build", with this mend off).

Remove when: Buildbot sets TCP_NODELAY itself (the canary
``test_upstream_leaves_nagle_on_for_workers`` then fails).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from buildbot.worker.protocols import pb

from mends.wrapping import replace

TARGETS = (
    "buildbot.worker.protocols.pb:Listener.before_connection_setup",
    "buildbot_worker.pb:BotFactory.gotPerspective",
)


def send_at_once(transport: Any) -> None:
    """TCP_NODELAY on ``transport`` where it is a TCP connection."""
    set_nodelay = getattr(transport, "setTcpNoDelay", None)
    if set_nodelay is None:
        return
    with contextlib.suppress(OSError):  # not a TCP socket after all
        set_nodelay(True)


def _sending_at_once(setup: Callable[..., Any]) -> Callable[..., Any]:
    def before_connection_setup(self: pb.Listener, mind: Any, worker_name: str) -> Any:
        send_at_once(mind.broker.transport)
        return setup(self, mind, worker_name)

    return before_connection_setup


def install() -> None:
    replace(pb.Listener, "before_connection_setup", _sending_at_once)
