"""How our mends of Buildbot replace one of its methods: once per process.

The configuration, and so every mend, loads again at each reconfig; a method wrapped a
second time would run the mend twice. :func:`wrap_once` marks what it installs and leaves
a method it has already wrapped alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Method = Callable[..., Any]


def wrap_once(owner: type, name: str, wrap: Callable[[Method], Method]) -> None:
    """Replace ``owner.name`` by ``wrap(upstream)``, unless this has been done already."""
    upstream = getattr(owner, name)
    if getattr(upstream, "wrapped_once", False):
        return
    mended = wrap(upstream)
    mended.wrapped_once = True  # type: ignore[attr-defined]
    setattr(owner, name, mended)
