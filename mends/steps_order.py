"""The live build page lists a build's steps in their order.

Replaces: the web UI's script bundle as served at ``/assets/index-D1Qujclx.js`` (a copy
with two calls changed), mounted by wrapping
``buildbot.www.service.WWWService.setupSite``.

Defect: buildbot-www 4.3's build page asks for a build's steps with no order
(``build.getSteps()``, twice: the build summary and the build page). Its data collection
keeps items in arrival order and sorts only when the query has an ``order``. A step that
starts while the page's first fetch of the steps is under way arrives first, over the
websocket, and the fetched ones are put after it: a build watched live as it starts
lists ``1, 0, 2, ...`` (a reload shows them in order). Our builds start within
milliseconds, so a forced build, whose page the UI opens as it starts, often shows it.
No upstream issue yet; reproduction: ``tests/e2e/test_web_ui.py``
``test_a_build_watched_live_lists_its_steps_in_order`` on stock Buildbot.

Mend: serve the bundle with both calls asking for ``{query: {order: "number"}}``, which
the collection then keeps sorted (and the REST API sorts too). Nothing else of the UI
changes; the other assets are served as before.

Gain: correctness: the build page shows steps in order on every build (the test above
fails in one to two runs of four without it).

Remove when: buildbot-www sorts a build's steps (the canary
``test_upstream_build_page_asks_for_steps_in_no_order`` then fails).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from buildbot.www.service import WWWService
from twisted.web import resource, static

from mends.wrapping import replace

BUNDLE = "static/assets/index-D1Qujclx.js"
TARGETS = (
    "buildbot.www.service:WWWService.setupSite",
    f"buildbot_www:{BUNDLE}",
)
UNORDERED = "e.getSteps())"
ORDERED = 'e.getSteps({query:{order:"number"}}))'
CALLS = 2


def bundle() -> str:
    """buildbot-www's script bundle, as installed."""
    return (resources.files("buildbot_www") / BUNDLE).read_text()


def ordered(script: str) -> str:
    """The bundle with both step queries ordered by step number."""
    found = script.count(UNORDERED)
    if found != CALLS:
        raise ValueError(f"expected {CALLS} unordered step queries, found {found}")
    return script.replace(UNORDERED, ORDERED)


class Assets(resource.Resource):
    """``/assets``: the mended bundle, and every other asset from upstream's directory."""

    def __init__(self, upstream: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.upstream = upstream
        body = ordered(bundle()).encode()
        name = BUNDLE.rsplit("/", 1)[1].encode()
        script: Any = static.Data(body, "text/javascript")  # type: ignore[no-untyped-call]
        self.putChild(name, script)

    def getChild(self, path: bytes, request: Any) -> Any:
        return self.upstream.getChildWithDefault(path, request)


def _serving_ordered_steps(setup: Callable[..., Any]) -> Callable[..., Any]:
    def setupSite(self: WWWService, new_config: Any) -> Any:
        result = setup(self, new_config)
        root = self.apps.get(self.base_plugin_name).resource
        root.putChild(b"assets", Assets(root.getChild(b"assets", None)))
        return result

    return setupSite


def install() -> None:
    replace(WWWService, "setupSite", _serving_ordered_steps)
