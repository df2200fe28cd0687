"""The bench on tiny sizes, so that it cannot rot unnoticed: every row is there.

Only the table's shape is checked, never a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import features
from bench.cluster import FEATURES
from bench.mends import FIGURES
from local.cluster import CHECKOUT
from mends import NAMES

pytestmark = pytest.mark.slow

ATTRIBUTION = "burst: CPU per build in "
"""The profile's rows: which parts of the master show depends on the run."""
ROWS = [
    "push to pending status, median",
    "push to build start, median",
    "push to build start, max",
    "master RSS idle",
    "burst of 2: wall time",
    "burst of 2: builds per minute",
    "burst: master overhead per build",
    "burst: master CPU per build",
    ATTRIBUTION,
    "burst: database statements per build",
    "master RSS end of burst",
    "scale: 6 pushes over 3 branches: builds run",
    "scale: 6 pushes over 3 branches: master CPU per build",
    "scale: 6 pushes over 3 branches: index page's longest wait",
    "after 100 builds of history: master CPU per build",
    "warm checkout + merge (50 commits, 100 files)",
    "warm checkout + merge, fewest commands",
    "warm build (checkout, merge, true)",
    "clobber checkout + merge",
    "checkconfig config.yml.example",
    "janitor on 100 builds of history: log chunks deleted",
    "janitor on 100 builds of history: duration",
    "janitor on 100 builds of history: index page's longest wait",
    "ec2 burst of 2: instance-seconds per build",
    "ec2: index page's longest wait while 2 instances start",
    "storing a JUnit report of 100 cases: test step",
    "storing a JUnit report of 100 cases: index page's longest wait",
    "pipeline: first build's end to the triggered build's start, median",
    "GitHub check run calls per build (2 builds)",
    "GitHub calls per build, tokens included (2 builds)",
]


def quick_bench(results: Path, *flags: str) -> list[str]:
    """Run ``make bench`` on tiny sizes; the figures of the table it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *flags, "--results", str(results)],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [line.split("  ")[0] for line in done.stdout.splitlines()[2:]]


def test_quick_bench_prints_and_saves_every_row(tmp_path: Path) -> None:
    printed = quick_bench(tmp_path)
    [saved] = tmp_path.glob("bench-*.json")
    rows = json.loads(saved.read_text())["rows"]
    assert [row["figure"] for row in rows] == printed
    assert all(isinstance(row["value"], float) for row in rows)
    shown = [f for f in printed if not f.startswith(ATTRIBUTION)]
    assert shown == [f for f in ROWS if f != ATTRIBUTION]
    # The profile shares out the master's CPU per build among its parts, right after it.
    parts = [row for row in rows if row["figure"].startswith(ATTRIBUTION)]
    cpu = next(row["value"] for row in rows if row["figure"] == "burst: master CPU per build")
    assert parts and printed.index(parts[0]["figure"]) == ROWS.index(ATTRIBUTION)
    assert sum(row["value"] for row in parts) == pytest.approx(cpu)


def test_quick_bench_of_the_mends_has_each_variant(tmp_path: Path) -> None:
    variants = ["all mends", *(f"without {name}" for name in NAMES), "stock Buildbot (no mends)"]
    # On --quick each variant runs the burst only (the push is the main table's code).
    burst = [figure for figure in FIGURES if figure.startswith("burst")]
    assert quick_bench(tmp_path, "--mends") == [
        f"{figure} [{variant}]" for variant in variants for figure in burst
    ]


def test_quick_bench_of_the_features_leaves_each_out(tmp_path: Path) -> None:
    variants = ["every feature", *(f"without {name}" for name in FEATURES)]
    assert quick_bench(tmp_path, "--features") == [
        f"{figure} [{variant}]" for variant in variants for figure in features.FIGURES
    ]
