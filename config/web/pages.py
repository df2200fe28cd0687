"""Pages of our own on the web UI's port, next to Buildbot's ``/api`` and ``/auth``.

Buildbot 4.3 mounts extra pages only from www plugins, which are found through installed
packages' entry points (and then live under ``/plugins/<name>``). Our pages are plain
Twisted resources at fixed paths (``/metrics``, ``/results``), so a small service puts
them on the web root Buildbot built. Services are configured before the web server, so
on the first start the root does not exist yet: the pages are put there when this master
announces it has started, and again after every reconfig.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.util import service
from twisted.internet import defer
from twisted.web.resource import Resource


class WebPage(service.BuildbotService):
    """A service that owns one page at ``/<path>`` of the web UI (a subclass makes it)."""

    path: str = ""

    def page(self) -> Resource:
        raise NotImplementedError

    @defer.inlineCallbacks
    def startService(self) -> Generator[Any, Any, None]:
        self._started = yield self.master.mq.startConsuming(
            lambda key, message: self.mount(), ("masters", None, "started")
        )
        yield super().startService()
        self.mount()

    @defer.inlineCallbacks
    def stopService(self) -> Generator[Any, Any, None]:
        yield self._started.stopConsuming()
        yield super().stopService()

    def mount(self) -> None:
        """Put the page on the web root, if this master serves one (yet)."""
        root = getattr(self.master.www, "root", None)
        if root is not None:
            root.putChild(self.path.encode(), self.page())

    @defer.inlineCallbacks
    def reconfigService(self, *args: Any, **kwargs: Any) -> Generator[Any, Any, None]:
        yield super().reconfigService(*args, **kwargs)
        self.mount()
