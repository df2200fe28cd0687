"""``/results/``: what builds uploaded (:mod:`config.builds.uploads`), with directory
listings.

What a build uploads is hostile: a pull request controls the docs and reports it
publishes. Served from the web UI's own origin, a page's script would act with the
visitor's login (the session cookie is readable by script there). So every answer here
carries ``Content-Security-Policy: sandbox``: the browser runs no script of it, and
treats it as a page of no origin (no cookie, no request as the visitor); and
``X-Content-Type-Options: nosniff``, so a file is taken only as what its name says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.web.resource import Resource
from twisted.web.static import File

from config.builds.uploads import RESULTS
from config.web.pages import WebPage


class ResultsPages(WebPage):
    """Serves the results directory at ``/results/``, with directory listings."""

    path = RESULTS

    def page(self) -> Resource:
        root = Path(self.master.basedir, RESULTS)
        root.mkdir(exist_ok=True)
        return Sandboxed(File(str(root)))


UPLOADED_HEADERS = {
    b"Content-Security-Policy": b"sandbox",
    b"X-Content-Type-Options": b"nosniff",
    b"Referrer-Policy": b"no-referrer",
}


class Sandboxed(Resource):
    """``inner`` and all below it, answered with :data:`UPLOADED_HEADERS`."""

    def __init__(self, inner: Resource) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.inner = inner
        self.isLeaf = getattr(inner, "isLeaf", False)

    def getChildWithDefault(self, path: bytes, request: Any) -> Resource:
        return Sandboxed(self.inner.getChildWithDefault(path, request))  # type: ignore[no-untyped-call]

    def render(self, request: Any) -> Any:
        for name, value in UPLOADED_HEADERS.items():
            request.setHeader(name, value)
        return self.inner.render(request)  # type: ignore[no-untyped-call]
