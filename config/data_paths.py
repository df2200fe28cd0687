"""The one place that mends how Buildbot 4.3 finds a data API endpoint for a path.

Every event a build produces and every REST request looks its path up in Buildbot's
``pathmatch.Matcher``, which sorts its patterns into a table before the first lookup and
again whenever a pattern is added. Buildbot 4.3 never marks the table built, so each of
the dozens of lookups per build rebuilt it: about a tenth of the master's CPU per build
on a warm worker (``make bench``). The mend marks it built.
"""

from __future__ import annotations

from buildbot.util import pathmatch


def install() -> None:
    """Make every path table of this process built once per change (idempotent: the
    configuration, and so this module, loads again at each reconfig)."""
    upstream = pathmatch.Matcher._compile
    if getattr(upstream, "builds_once", False):
        return

    def build_once(self: pathmatch.Matcher) -> None:
        upstream(self)
        self._dirty = False

    build_once.builds_once = True  # type: ignore[attr-defined]
    pathmatch.Matcher._compile = build_once
