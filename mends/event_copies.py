"""An event's message is copied by what it is made of, not by ``copy.deepcopy``.

Replaces: ``buildbot.data.base.ResourceType.sanitizeMessage`` (a static method).

Defect (a cost): every event the data API sends (about 40 a build: the build's, each
step's and log's, the requests' and buildsets') is first copied with ``copy.deepcopy``,
so that no consumer changes what another gets. ``deepcopy`` is slow for what a message
holds: it keeps a memo of every part, and takes each ``datetime`` apart and builds it
again through its pickling protocol. About 2% of the master's CPU in a burst of builds.
No upstream issue yet.

Mend: a message made of dicts, lists and tuples of strings, numbers, booleans, ``None``,
bytes and datetimes (their exact types) is copied container by container, the immutable
values shared as they are; anything else anywhere in it (a set, an object, a container
in two places or in itself) and the whole message is copied by ``copy.deepcopy`` as
upstream does.

Gain: see docs/mends.rst (a profiled burst: the share of the master's CPU in copying
events, with this mend and without).

Remove when: upstream copies its messages some cheaper way (the canary
``test_upstream_copies_each_event_with_deepcopy`` then fails).
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from buildbot.data.base import ResourceType

from mends.wrapping import replace

TARGETS = (
    "buildbot.data.base:ResourceType.sanitizeMessage",
    # Where the copy is made: a message's each event, and a properties event.
    "buildbot.data.base:ResourceType.produceEvent",
    "buildbot.data.properties:Properties.generateUpdateEvent",
)

IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, datetime.datetime})


class Unusual(Exception):
    """Raised by :func:`copied` on a part it leaves to ``copy.deepcopy``."""


def copied(value: Any, containers: set[int]) -> Any:
    """A copy of ``value`` that shares only its immutable values; ``containers``: the ids
    of the containers met so far (one met twice is left to ``deepcopy``, which copies it
    once and keeps it shared, a cycle too)."""
    kind = type(value)
    if kind in IMMUTABLE:
        return value
    if kind not in (dict, list, tuple) or id(value) in containers:
        raise Unusual
    containers.add(id(value))
    if kind is dict:
        return {copied(key, containers): copied(part, containers) for key, part in value.items()}
    parts = [copied(part, containers) for part in value]
    return parts if kind is list else tuple(parts)


def sanitize_message(message: Any) -> Any:
    try:
        return copied(message, set())
    except (Unusual, RecursionError):
        return copy.deepcopy(message)


def install() -> None:
    replace(ResourceType, "sanitizeMessage", lambda _: staticmethod(sanitize_message))
