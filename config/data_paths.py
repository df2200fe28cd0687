"""The one place that mends how Buildbot 4.3 finds a data API endpoint for a path.

Every event a build produces and every REST request looks its path up in Buildbot's
``pathmatch.Matcher``, which sorts its patterns into a table before the first lookup and
again whenever a pattern is added. Buildbot 4.3 never marks the table built, so each of
the dozens of lookups per build rebuilt it: about a tenth of the master's CPU per build
on a warm worker (``make bench``). The mend marks it built.
"""

from __future__ import annotations

from collections.abc import Callable

from buildbot.util import pathmatch

from config.mending import wrap_once


def _marking_built(build: Callable[[pathmatch.Matcher], None]) -> Callable[..., None]:
    def build_once(self: pathmatch.Matcher) -> None:
        build(self)
        self._dirty = False

    return build_once


def install() -> None:
    """Make every path table of this process built once per change (idempotent)."""
    wrap_once(pathmatch.Matcher, "_compile", _marking_built)
