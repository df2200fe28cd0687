"""Pages of our own on the web UI's port, next to Buildbot's ``/api`` and ``/auth``.

Buildbot 4.3 mounts extra pages only from www plugins, which are found through installed
packages' entry points (and then live under ``/plugins/<name>``). Our pages are plain
Twisted resources at fixed paths (``/metrics``, ``/results``), so a small service puts
them on the web root Buildbot built. Services are configured before the web server, so
on the first start the root does not exist yet: the pages are put there when this master
announces it has started, and again after every reconfig.

Our pages read as the REST API reads: where visitors must log in to read
(``auth.anonymous_read``), a page answers only those who may (:class:`ReadersOnly`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.util import service
from twisted.internet import defer
from twisted.web.resource import Resource

from config.web.auth import may_read


class WebPage(service.BuildbotService):
    """A service that owns one page at ``/<path>`` of the web UI (a subclass makes it)."""

    path: str = ""

    def page(self) -> Resource:
        raise NotImplementedError

    def guarded(self) -> bool:
        """Whether the page answers readers only (a page with a login of its own says no)."""
        return True

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
            page = self.page()
            root.putChild(
                self.path.encode(), ReadersOnly(self.master, page) if self.guarded() else page
            )

    @defer.inlineCallbacks
    def reconfigService(self, *args: Any, **kwargs: Any) -> Generator[Any, Any, None]:
        yield super().reconfigService(*args, **kwargs)
        self.mount()


class ReadersOnly(Resource):
    """``inner``, for the visitors who may read (:func:`config.web.auth.may_read`); the
    others get 403 and nothing of it."""

    def __init__(self, master: Any, inner: Resource) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.master = master
        self.inner = inner

    def getChildWithDefault(self, path: bytes, request: Any) -> Resource:
        if not may_read(self.master, request):
            return Refused()
        child: Resource = self.inner.getChildWithDefault(path, request)  # type: ignore[no-untyped-call]
        return child

    def render(self, request: Any) -> Any:
        if not may_read(self.master, request):
            return Refused().render(request)
        return self.inner.render(request)  # type: ignore[no-untyped-call]


class Refused(Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def render(self, request: Any) -> bytes:
        request.setResponseCode(403)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        return b"Log in to read this.\n"
