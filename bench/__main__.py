"""``python -m bench [--quick]``: run every measurement, print the table, save the JSON."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import (
    bigrepo,
    burst,
    checkconfig,
    ec2_cost,
    ec2_starts,
    features,
    github_calls,
    history,
    janitor,
    mends,
    push,
    scale,
    test_results,
)
from bench.report import Row, table, write_json

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Sizes:
    pushes: int
    burst: int
    commits: int
    files: int
    runs: int
    history: int
    ec2_burst: int
    cases: int
    scale: tuple[int, int, int]  # pushes, branches, workers
    after_history: int  # builds after the janitor's history


FULL = Sizes(
    pushes=10,
    burst=20,
    commits=5000,
    files=20000,
    runs=7,
    history=20000,
    ec2_burst=6,
    cases=20000,
    scale=(200, 50, 4),
    after_history=4,
)
QUICK = Sizes(
    pushes=2,
    burst=2,
    commits=50,
    files=100,
    runs=1,
    history=100,
    ec2_burst=2,
    cases=100,
    scale=(6, 3, 2),
    after_history=1,
)


def run(
    sizes: Sizes, root: Path, cache: Path, each_mend: bool = False, each_feature: bool = False
) -> list[Row]:
    """Every figure, in the order of the table (``each_mend``: only the mends' part;
    ``each_feature``: only the features' part)."""
    rows: list[Row] = []
    if each_feature:
        return features.measure(root / "features", sizes.burst)
    minimal_rss = checkconfig.minimal_idle_rss(root / "minimal")
    if each_mend:
        pushes = 0 if sizes is QUICK else sizes.pushes
        return mends.measure(root / "mends", pushes, sizes.burst, minimal_rss)
    rows += push.measure(root / "push", sizes.pushes, minimal_rss)
    rows += burst.measure(root / "burst", sizes.burst, profile=True)
    rows += scale.measure(root / "scale", *sizes.scale)
    rows += history.measure(root / "history", sizes.history, sizes.after_history)
    rows += bigrepo.measure(root / "bigrepo", cache, sizes.commits, sizes.files, sizes.runs)
    rows += checkconfig.measure(root / "checkconfig", sizes.runs)
    rows += janitor.measure(root / "janitor", sizes.history)
    rows += ec2_cost.measure(root / "ec2-cost", sizes.ec2_burst)
    starts = ec2_starts.QUICK if sizes is QUICK else ec2_starts.FULL
    rows += ec2_starts.measure(root / "ec2-starts", *starts)
    rows += test_results.measure(root / "test-results", sizes.cases, sizes.runs)
    rows += github_calls.measure(root / "github-calls", sizes.pushes)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the master; print one table.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the code runs")
    parser.add_argument("--results", default=str(RESULTS), help="where the JSON goes")
    parser.add_argument(
        "--mends",
        action="store_true",
        help="push and burst with all mends, each one off, and none (bench/mends.py)",
    )
    parser.add_argument(
        "--features",
        action="store_true",
        help="the burst with every feature, and each one left out (bench/features.py)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    results = Path(args.results)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as temporary:
        rows = run(sizes, Path(temporary), results, args.mends, args.features)
    print(table(rows))
    saved = write_json(
        rows,
        results,
        sizes=sizes.__dict__,
        cpus=os.cpu_count(),
        python=platform.python_version(),
        seconds=round(time.monotonic() - started, 1),
    )
    print(f"\nsaved {saved}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
