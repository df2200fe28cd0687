"""The harness stops every process it started, even when the test using it fails."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

FAILING_TEST = textwrap.dedent(
    """
    from tests.conftest import local_settings

    def test_fails_with_master_running(repo, start_master):
        master = start_master(local_settings(repo.url, [
            {"name": "b", "steps": [{"kind": "run", "command": ["true"]}]}]))
        assert master.get("workers")["workers"][0]["connected_to"]
        assert False, "deliberate failure"
    """
)


def processes_below(directory: Path) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in listing.stdout.splitlines() if str(directory) in line]


def test_failing_test_leaves_no_process_behind(tmp_path: Path) -> None:
    test_file = ROOT / "tests" / "integration" / f"test_tmp_{tmp_path.name}.py"
    test_file.write_text(FAILING_TEST)
    base = tmp_path / "runs"
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:xdist",
                f"--basetemp={base}",
                str(test_file),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        test_file.unlink()
    assert "deliberate failure" in done.stdout
    assert done.returncode == 1
    assert (
        base / "test_fails_with_master_running0" / "master-0" / "master" / "twistd.log"
    ).exists()
    assert processes_below(base) == []
