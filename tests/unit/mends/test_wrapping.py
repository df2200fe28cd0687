"""A mend's wrapper goes on once per process, around another mend's on the same name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mends.wrapping import replace, upstream


class Owner:
    def said(self) -> list[str]:
        return ["upstream"]


def saying(word: str) -> Callable[[Any], Any]:
    def wrap(current: Any) -> Any:
        def said(self: Any) -> list[str]:
            return [word, *current(self)]

        return said

    wrap.__qualname__ = f"saying_{word}"  # two mends: two wrappers of their own
    return wrap


def test_two_mends_wrap_one_name_each_once() -> None:
    first, second = saying("first"), saying("second")
    for _ in range(2):  # a reconfig installs the mends again
        replace(Owner, "said", first)
        replace(Owner, "said", second)
    assert Owner().said() == ["second", "first", "upstream"]
    assert upstream(Owner, "said")(Owner()) == ["upstream"]
