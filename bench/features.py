"""Each feature's part: the burst with every feature of ours on, then with each one left
out in turn, in one run (``make bench BENCH_ARGS=--features``).

A feature is left out through its own setting, as an operator would turn it off: what the
burst then saves is what the feature costs per build.
"""

from __future__ import annotations

from pathlib import Path

from bench import burst
from bench.cluster import FEATURES
from bench.report import Row

# The figures a feature's cost shows in.
FIGURES = (
    "burst: master overhead per build",
    "burst: master CPU per build",
    "burst: database statements per build",
)


def measure(root: Path, builds: int) -> list[Row]:
    """One row per variant and figure, named ``<figure> [<variant>]``."""
    variants = [("every feature", ()), *((f"without {n}", (n,)) for n in FEATURES)]
    rows: list[Row] = []
    for number, (variant, leave_out) in enumerate(variants):
        found = burst.measure(root / f"variant-{number}", builds, leave_out=leave_out)
        rows += [
            Row(f"{row.figure} [{variant}]", row.value, row.unit)
            for row in found
            if row.figure in FIGURES
        ]
    return rows
