"""What a mend keeps in memory: its state on one of Buildbot's objects, and rows, the
latest few by key."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


def state_of(owner: Any, name: str, make: Callable[[], T]) -> T:
    """What a mend keeps on ``owner`` (a component, a log) as its attribute ``name``,
    made by ``make`` on first use."""
    found: T | None = vars(owner).get(name)
    if found is None:
        found = make()
        setattr(owner, name, found)
    return found


class Kept(OrderedDict[K, V], Generic[K, V]):
    """At most ``most`` entries; putting one more forgets the one put or used longest ago."""

    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most

    def put(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.most:
            self.popitem(last=False)

    def used(self, key: K) -> V | None:
        """The entry for ``key`` (now the latest used), or None."""
        if key not in self:
            return None
        self.move_to_end(key)
        return self[key]
