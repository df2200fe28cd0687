"""Rows a mend keeps in memory: the latest few, by key."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


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
