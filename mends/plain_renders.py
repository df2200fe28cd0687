"""A value with nothing to render in it is rendered without a deferred for each part.

Replaces: ``buildbot.process.properties.Properties.render``.

Defect (a cost): a build writes its properties at its start and after each step
(``setBuildProperties``), and renders all of them each time: the dict of ``(value,
source)`` pairs goes through Buildbot's adapters, which make a deferred and gather the
results for every key, pair and element, though a property value is almost always a
plain string or number: about 40 properties, nine times a build. No upstream issue yet.

Mend: a value made only of ``str``, ``int``, ``float``, ``bool``, ``None``, lists,
tuples and dicts (their exact types: a subclass may render itself) renders to a copy of
itself, new containers of the same types as upstream's adapters make, in one fired
deferred. Anything else, anywhere in the value (a renderable, an object with
``getRenderingFor``, another type), is rendered by upstream's code, the whole value.

Gain: about 7% of the master's CPU in a burst: in two profiled bursts each way
(``bench/profile.py``'s samples), rendering took 10.1% and 9.3% of the master's samples
without this mend and 1.6% and 2.7% with it (see docs/mends.rst).

Remove when: upstream renders plain values without its adapters (the canary
``test_upstream_renders_a_plain_value_part_by_part`` then fails).
"""

from __future__ import annotations

from typing import Any

from buildbot.process.properties import Properties
from twisted.internet import defer

from mends.wrapping import replace

TARGETS = (
    "buildbot.process.properties:Properties.render",
    # The adapters whose results the copy matches: a new list, tuple or dict, the rest as is.
    "buildbot.process.properties:_DefaultRenderer",
    "buildbot.process.properties:_ListRenderer",
    "buildbot.process.properties:_TupleRenderer",
    "buildbot.process.properties:_DictRenderer",
)

SCALARS = frozenset({str, int, float, bool, type(None)})


class NotPlain(Exception):
    """Raised by :func:`copy` on a part that upstream's adapters must render."""


def copy(value: Any) -> Any:
    """What upstream's adapters render a plain ``value`` to."""
    kind = type(value)
    if kind in SCALARS:
        return value
    if kind is list:
        return [copy(part) for part in value]
    if kind is tuple:
        return tuple(copy(part) for part in value)
    if kind is dict:
        return {copy(key): copy(part) for key, part in value.items()}
    raise NotPlain


def _plain_at_once(upstream: Any) -> Any:
    def render(self: Properties, value: Any) -> defer.Deferred[Any]:
        try:
            rendered = copy(value)
        except (NotPlain, RecursionError):
            found: defer.Deferred[Any] = upstream(self, value)
            return found
        return defer.succeed(rendered)

    return render


def install() -> None:
    replace(Properties, "render", _plain_at_once)
