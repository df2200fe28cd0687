"""The data API's path table is built once, and again only when a path is added.

Replaces: ``buildbot.util.pathmatch.Matcher._compile`` (wrapped).

Defect (a cost): every event a build produces and every REST request looks its path up in
a ``Matcher``, which sorts its patterns into a table when it is marked dirty. Buildbot
4.3 never clears the mark, so each of the dozens of lookups per build rebuilt the table.
No upstream issue yet.

Mend: clear the mark once the table is built; adding a pattern sets it again, as upstream.

Gain: see the README's mends table (``make bench``, row "burst: master CPU per build",
with this mend off).

Remove when: upstream clears the mark (the canary
``test_upstream_rebuilds_the_path_table_at_every_lookup`` then fails).
"""

from __future__ import annotations

from collections.abc import Callable

from buildbot.util import pathmatch

from mends.wrapping import replace

TARGETS = (
    "buildbot.util.pathmatch:Matcher._compile",
    "buildbot.util.pathmatch:Matcher.__getitem__",
    "buildbot.util.pathmatch:Matcher.__setitem__",
)


def _marking_built(build: Callable[[pathmatch.Matcher], None]) -> Callable[..., None]:
    def build_once(self: pathmatch.Matcher) -> None:
        build(self)
        self._dirty = False

    return build_once


def install() -> None:
    replace(pathmatch.Matcher, "_compile", _marking_built)
