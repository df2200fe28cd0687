"""The bench on tiny sizes, so that it cannot rot unnoticed: every row is there.

Only the table's shape is checked, never a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from config.local import CHECKOUT

pytestmark = pytest.mark.slow

ROWS = [
    "push to build start, median",
    "push to build start, max",
    "master RSS idle",
    "burst of 2: wall time",
    "burst of 2: builds per minute",
    "burst: master overhead per build",
    "burst: master CPU per build",
    "master RSS end of burst",
    "warm checkout + merge (50 commits, 100 files)",
    "warm checkout + merge, fewest commands",
    "warm build (checkout, merge, true)",
    "clobber checkout + merge",
    "checkconfig config.yml.example",
]


def test_quick_bench_prints_and_saves_every_row(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--results", str(tmp_path)],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = [line.split("  ")[0] for line in done.stdout.splitlines()[2:]]
    assert printed == ROWS
    [saved] = tmp_path.glob("bench-*.json")
    rows = json.loads(saved.read_text())["rows"]
    assert [row["figure"] for row in rows] == ROWS
    assert all(isinstance(row["value"], float) for row in rows)
