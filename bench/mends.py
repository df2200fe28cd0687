"""Each mend's part: the push and burst figures with every mend, with each one left out
in turn, and on stock Buildbot (none), in one run (``make bench BENCH_ARGS=--mends``).

A mend whose figure moves less than the run-to-run spread does not pay its way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mends
from bench import burst, push
from bench.report import Row

# The figures a mend may claim to improve.
FIGURES = (
    "push to build start, median",
    "burst: master overhead per build",
    "burst: master CPU per build",
    "burst: database statements per build",
)


@dataclass(frozen=True)
class Variant:
    name: str
    enabled: bool = True
    off: tuple[str, ...] = ()


def variants() -> list[Variant]:
    """All mends; each mend off; none (stock Buildbot)."""
    return [
        Variant("all mends"),
        *(Variant(f"without {name}", off=(name,)) for name in mends.NAMES),
        Variant("stock Buildbot (no mends)", enabled=False),
    ]


def measure(root: Path, pushes: int, builds: int, minimal_rss: float) -> list[Row]:
    """One row per variant and figure, named ``<figure> [<variant>]``; with no ``pushes``
    (``--quick``) only the burst's, which starts one master per variant instead of two."""
    rows: list[Row] = []
    for number, variant in enumerate(variants()):
        choice = {"mends": variant.enabled, "mends_off": list(variant.off)}
        here = root / f"variant-{number}"
        found: Sequence[Row] = [
            *(push.measure(here / "push", pushes, minimal_rss, choice) if pushes else ()),
            *burst.measure(here / "burst", builds, choice),
        ]
        rows += [
            Row(f"{row.figure} [{variant.name}]", row.value, row.unit)
            for row in found
            if row.figure in FIGURES
        ]
    return rows
