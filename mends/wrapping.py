"""How a mend replaces one of Buildbot's names: once per process, keeping upstream's.

The configuration loads again at every reconfig, and so would a mend: a method wrapped a
second time would run the mend twice. :func:`replace` marks what it installs with the
wrapper that made it, leaves a name alone that the same wrapper has already replaced
(another mend's wrapper goes around it), and keeps upstream's object where
:func:`upstream` finds it, for the version guard's fingerprints and for the canaries,
which run upstream's code to see whether its defect is still there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Wrap = Callable[[Any], Any]

_UPSTREAM = "upstream_of_mend"
_WRAPPED_BY = "wrapped_by_mends"


def _name(wrap: Wrap) -> str:
    return f"{wrap.__module__}.{wrap.__qualname__}"


def replace(owner: Any, name: str, wrap: Wrap) -> None:
    """Set ``owner.name`` to ``wrap(current)``, unless ``wrap`` has done so already.

    ``owner`` is a class or a module; ``name`` is looked up in its own ``__dict__``, so a
    staticmethod or a debouncer descriptor is handed to ``wrap`` as it is stored.
    """
    current = vars(owner)[name]
    wrapped_by: frozenset[str] = getattr(current, _WRAPPED_BY, frozenset())
    if _name(wrap) in wrapped_by:
        return
    mended = wrap(current)
    setattr(mended, _UPSTREAM, current)
    setattr(mended, _WRAPPED_BY, wrapped_by | {_name(wrap)})
    setattr(owner, name, mended)


def original(current: Any) -> Any:
    """What ``current`` wraps, through every mend's wrapper: Buildbot's own object."""
    while hasattr(current, _UPSTREAM):
        current = getattr(current, _UPSTREAM)
    return current


def upstream(owner: Any, name: str) -> Any:
    """Buildbot's own ``owner.name``, whether or not mends replaced it."""
    return original(vars(owner)[name])
