"""Which waiting build requests Buildbot may collapse into one: its own rule, made cheap.

Buildbot collapses a waiting request into a newer one for the same builder when both
build the same branch of the same repository. Its default check reads both requests'
buildsets and source stamps from the database for every pair it compares, and it compares
each new request with every older waiting one: a burst of pushes to twenty branches cost
hundreds of reads, most of the master's database time in ``make bench``'s burst. A
buildset's source stamps never change once made, so here each buildset's branches are
read once and kept; pairs on different branches are told apart from that alone, and only
pairs on the same branches go on to Buildbot's own check.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from buildbot.process.buildrequest import BuildRequest
from buildbot.util.twisted import async_to_deferred

# What a request builds, as far as collapsing goes: (codebase, repository, project,
# branch) of each source stamp.
Sources = frozenset[tuple[str, str, str, str | None]]

KEPT = 1000  # buildsets whose sources are kept: far more than ever wait at once


class Collapser:
    """The ``collapseRequests`` callable of the configuration."""

    def __init__(self) -> None:
        self._sources: OrderedDict[int, Sources] = OrderedDict()

    async def _sources_of(self, master: Any, buildsetid: int) -> Sources:
        if buildsetid in self._sources:
            self._sources.move_to_end(buildsetid)
            return self._sources[buildsetid]
        buildset = await master.data.get(("buildsets", str(buildsetid)))
        sources = frozenset(
            (ss["codebase"], ss["repository"], ss["project"], ss["branch"])
            for ss in buildset["sourcestamps"]
        )
        self._sources[buildsetid] = sources
        if len(self._sources) > KEPT:
            self._sources.popitem(last=False)
        return sources

    @async_to_deferred
    async def __call__(
        self, master: Any, builder: Any, new: dict[str, Any], old: dict[str, Any]
    ) -> bool:
        if new["buildsetid"] == old["buildsetid"]:
            return True
        if new["buildrequestid"] < old["buildrequestid"]:
            return False
        new_sources = await self._sources_of(master, new["buildsetid"])
        if new_sources != await self._sources_of(master, old["buildsetid"]):
            return False
        return bool(await BuildRequest.canBeCollapsed(master, new, old))
