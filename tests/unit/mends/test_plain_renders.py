"""Plain values rendered at once: what upstream's adapters give, new containers of the same
types; anything with a renderable in it rendered by upstream; and the canary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from buildbot.process.properties import Interpolate, Properties, Property
from twisted.internet import defer

from mends import plain_renders
from mends.wrapping import upstream
from tests.stock import stock

PLAIN = [
    "text",
    7,
    2.5,
    True,
    None,
    ("value", "source"),
    ["a", 1, [2, (3, None)]],
    {"branch": ("feature", "Change"), "count": (3, "step"), 4: {"nested": [True]}},
]


class Named(str):
    """A string subclass that renders itself: not plain."""

    def getRenderingFor(self, properties: Any) -> str:
        return f"rendered {self}"


class Renders:
    def getRenderingFor(self, properties: Any) -> str:
        return "rendered"


def _properties() -> Properties:
    properties = Properties()
    properties.setProperty("branch", "feature", "Change")
    return properties


def _rendered(properties: Properties, value: Any, render: Any = None) -> Any:
    """What ``render`` (the class's ``render`` by default) gives for ``value``, at once."""
    found: list[Any] = []
    (render or Properties.render)(properties, value).addCallback(found.append)
    assert found, "the render did not fire"
    return found[0]


@contextlib.contextmanager
def _renders_through(render: Any) -> Iterator[list[Any]]:
    """While the block runs, ``Properties.render`` notes each value it is asked to render
    (the adapters ask it again for each part) and hands it on to ``render``; the
    installed one is put back after."""
    renders: list[Any] = []

    def counting(self: Properties, value: Any) -> defer.Deferred[Any]:
        renders.append(value)
        found: defer.Deferred[Any] = render(self, value)
        return found

    with stock(Properties, "render"):
        Properties.render = counting
        yield renders


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    plain_renders.install()


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_a_plain_value_renders_as_upstream_renders_it(value: Any) -> None:
    properties = _properties()
    mended = _rendered(properties, value)
    with stock(Properties, "render"):
        stock_result = _rendered(properties, value)
    assert mended == stock_result and type(mended) is type(stock_result)
    if isinstance(value, (list, tuple, dict)) and value:
        assert mended is not value  # a new container, as upstream's adapters make


def test_a_plain_value_is_rendered_without_upstreams_adapters() -> None:
    def upstream_render(self: Properties, given: Any) -> defer.Deferred[Any]:
        raise AssertionError(f"upstream asked to render {given!r}")

    mended = plain_renders._plain_at_once(upstream_render)
    assert _rendered(_properties(), PLAIN[-1], mended) == PLAIN[-1]
    with _renders_through(Properties.render) as renders:  # the installed mend
        _rendered(_properties(), {"branch": ("feature", "Change")})
    assert len(renders) == 1  # the dict, at once


def test_a_copy_does_not_share_its_containers_with_the_value() -> None:
    value = {"list": [1, 2], "dict": {"a": [3]}}
    rendered = _rendered(_properties(), value)
    rendered["list"].append(9)
    rendered["dict"]["a"].append(9)
    assert value == {"list": [1, 2], "dict": {"a": [3]}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["on", Property("branch")], ["on", "feature"]),
        ({"k": (Interpolate("%(prop:branch)s!"), "src")}, {"k": ("feature!", "src")}),
        (Named("x"), "rendered x"),
        ([1, Renders()], [1, "rendered"]),
    ],
    ids=["property in a list", "interpolation in a dict", "str subclass", "object that renders"],
)
def test_a_value_with_something_to_render_is_rendered_by_upstream(
    value: Any, expected: Any
) -> None:
    assert _rendered(_properties(), value) == expected


def test_a_value_too_deep_to_copy_is_left_to_upstream() -> None:
    value: list[Any] = []
    for _ in range(5000):
        value = [value]
    calls: list[Any] = []

    def upstream_render(self: Properties, given: Any) -> defer.Deferred[Any]:
        calls.append(given)
        return defer.succeed("upstream")

    mended = plain_renders._plain_at_once(upstream_render)
    assert _rendered(_properties(), value, mended) == "upstream" and calls == [value]


def test_upstream_renders_a_plain_value_part_by_part() -> None:
    # The canary: once upstream renders plain values without its adapters, the mend can go.
    with _renders_through(upstream(Properties, "render")) as renders:
        _rendered(_properties(), {"branch": ("feature", "Change")})
    assert len(renders) > 1  # the dict, then each pair and each part of it
