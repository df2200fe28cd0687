"""Which builder with waiting requests the master serves first: Buildbot's own order, read
in one query.

Buildbot's default order ranks the builders that have waiting (unclaimed) requests by their
requests' highest priority, then by their oldest request, then by name. It asks the
database for the first two builder by builder, two queries each (a limited query also
counts the rows), at every look for work: four statements per builder, and as many when
one builder has work and there is nothing to order. This is the configuration's
``prioritizeBuilders``: the same order, from one read of every waiting request, and no
read at all for a single builder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from buildbot.data import resultspec
from buildbot.util.twisted import async_to_deferred


def rank(priority: int | None, oldest: float | None, name: str) -> tuple[float, float, str]:
    """A builder's place in Buildbot's default order (lowest first); ``None`` for a builder
    with no waiting request."""
    return (
        -priority if priority is not None else math.inf,
        oldest if oldest is not None else math.inf,
        name,
    )


@async_to_deferred
async def prioritize(master: Any, builders: Sequence[Any]) -> list[Any]:
    """The ``prioritizeBuilders`` callable of the configuration."""
    if len(builders) < 2:
        return list(builders)
    waiting = await master.data.get(
        ("buildrequests",), filters=[resultspec.Filter("claimed", "eq", [False])]
    )
    priority: dict[int, int] = {}
    oldest: dict[int, float] = {}
    for request in waiting:
        builderid = request["builderid"]
        priority[builderid] = max(priority.get(builderid, request["priority"]), request["priority"])
        submitted = request["submitted_at"].timestamp()
        oldest[builderid] = min(oldest.get(builderid, submitted), submitted)
    ranks = {}
    for builder in builders:
        builderid = await builder.getBuilderId()
        ranks[builder.name] = rank(priority.get(builderid), oldest.get(builderid), builder.name)
    return sorted(builders, key=lambda builder: ranks[builder.name])
