"""Stock Buildbot for a while, in a process where mends are installed: the canaries run
upstream's own code through it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from mends.wrapping import upstream


@contextlib.contextmanager
def stock(owner: Any, *names: str) -> Iterator[None]:
    """Put upstream's ``owner.<name>`` back for each name, and the mends after."""
    mended = {name: vars(owner)[name] for name in names}
    for name in names:
        setattr(owner, name, upstream(owner, name))
    try:
        yield
    finally:
        for name, value in mended.items():
            setattr(owner, name, value)
