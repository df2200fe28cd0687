"""``/results/``: what builds uploaded (:mod:`config.builds.uploads`), with directory
listings."""

from __future__ import annotations

from pathlib import Path

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
        return File(str(root))
