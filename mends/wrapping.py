"""How a mend replaces one of Buildbot's names: once per process, keeping upstream's.

The configuration loads again at every reconfig, and so would a mend: a method wrapped a
second time would run the mend twice. :func:`replace` marks what it installs, leaves a
name it has already replaced alone, and keeps upstream's object where :func:`upstream`
finds it, for the version guard's fingerprints and for the canaries, which run
upstream's code to see whether its defect is still there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Wrap = Callable[[Any], Any]

_UPSTREAM = "upstream_of_mend"


def replace(owner: Any, name: str, wrap: Wrap) -> None:
    """Set ``owner.name`` to ``wrap(upstream)``, unless a mend has done so already.

    ``owner`` is a class or a module; ``name`` is looked up in its own ``__dict__``, so a
    staticmethod or a debouncer descriptor is handed to ``wrap`` as it is stored.
    """
    current = vars(owner)[name]
    if hasattr(current, _UPSTREAM):
        return
    mended = wrap(current)
    setattr(mended, _UPSTREAM, current)
    setattr(owner, name, mended)


def upstream(owner: Any, name: str) -> Any:
    """Buildbot's own ``owner.name``, whether or not a mend replaced it."""
    current = vars(owner)[name]
    return getattr(current, _UPSTREAM, current)
