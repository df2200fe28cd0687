"""The data API's table of paths is built once, not at every lookup.

Replaces: ``buildbot.util.pathmatch.Matcher.__getitem__``.

Defect (a cost): the data API finds the endpoint of a path (``("builds", "7", "steps")``)
through a ``Matcher``, which groups its patterns by length when one has been added since
the last lookup. It never notes that it did, so every lookup groups the whole table again
(some 140 patterns), then matches the path against each pattern of its length with a
regular expression per element. Every event, every reporter's read and every REST call
looks up at least one path. No upstream issue yet.

Mend: the table is grouped and each pattern's elements parsed (literal, or argument with
its type) when a pattern has been added since the last lookup, and only then. A lookup
matches as upstream's does: the patterns of the path's length in the order they were
added, the first that matches wins, an argument that does not convert is no match.

Gain: about 3% of the master's CPU in a burst: in two profiled bursts each way
(``bench/profile.py``'s samples), lookups took 3.6% and 6.6% of the master's samples
without this mend and 2.0% and 1.4% with it (see docs/mends.rst; a CPU gain this size is
inside the run-to-run spread of ``--mends``'s CPU figures, so it is measured by its
share of the samples).

Remove when: upstream keeps its grouped table (the canary
``test_upstream_groups_the_data_paths_at_every_lookup`` then fails).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from buildbot.util.pathmatch import Matcher

from mends.wrapping import replace

TARGETS = (
    "buildbot.util.pathmatch:Matcher.__getitem__",
    # What the parsing relies on: how patterns are added, grouped and typed.
    "buildbot.util.pathmatch:Matcher.__setitem__",
    "buildbot.util.pathmatch:Matcher._compile",
)

PARSED = "_mend_data_paths"
"""The matcher's parsed table (an attribute of the matcher), by path length."""


class Element(NamedTuple):
    """One element of a pattern: a literal, or an argument with its conversion."""

    literal: str | None
    argument: str | None
    convert: Callable[[str], Any] | None


Table = dict[int, list[tuple[tuple[Element, ...], Any]]]


def _unknown(flag: str) -> Callable[[str], Any]:
    def convert(value: str) -> Any:
        raise AssertionError(f"no such type flag {flag}")  # as upstream, at lookup

    return convert


def _element(pattern_element: str) -> Element:
    found = Matcher.path_elt_re.match(pattern_element)
    if not found:
        return Element(pattern_element, None, None)
    flag, argument = found.groups()
    if not flag:
        return Element(None, argument, None)
    return Element(None, argument, Matcher.type_fns.get(flag) or _unknown(flag))


def _parsed(matcher: Matcher) -> Table:
    table: Table = {}
    for pattern, value in matcher.iterPatterns():
        table.setdefault(len(pattern), []).append((tuple(map(_element, pattern)), value))
    return table


def _match(elements: tuple[Element, ...], path: tuple[str, ...]) -> dict[str, Any] | None:
    arguments: dict[str, Any] = {}
    for element, given in zip(elements, path, strict=True):  # patterns of the path's length
        if element.argument is None:
            if element.literal != given:
                return None
            continue
        if element.convert is not None:
            try:
                given = element.convert(given)
            except AssertionError:  # an unknown type flag: upstream's assertion
                raise
            except Exception:  # not of the type: no match, as upstream
                return None
        arguments[element.argument] = given
    return arguments


def _parsed_once(upstream: Any) -> Any:
    def __getitem__(self: Matcher, path: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
        table: Table | None = vars(self).get(PARSED)
        if table is None or self._dirty:
            self._compile()  # upstream's grouping too, so that upstream's lookup still works
            table = _parsed(self)
            setattr(self, PARSED, table)
            self._dirty = False
        for elements, value in table.get(len(path), ()):
            arguments = _match(elements, path)
            if arguments is not None:
                return value, arguments
        raise KeyError(f"No match for {path!r}")

    return __getitem__


def install() -> None:
    replace(Matcher, "__getitem__", _parsed_once)
