"""The test step reads every count of pytest's closing line, from real pytest runs.

A suite made here produces each kind of count pytest prints (passed, failed, skipped,
xfailed, xpassed, errors, warnings, deselected, subtests), in pytest's own order, run
quiet, plain and verbose; the step's summary shows passed, failed, skipped and errors.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from buildbot.process.results import FAILURE
from twisted.internet import defer
from twisted.trial import unittest

from config.builds.counts import Pytest, pytest_counts, summary_counts
from config.builds.limits import MB

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    from buildbot.test.reactor import TestReactorMixin
    from buildbot.test.steps import ExpectShell, TestBuildStepMixin

SUITE = """
import warnings
import pytest

def test_passes():
    pass

def test_fails():
    assert False

@pytest.mark.skip(reason="not here")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False

@pytest.mark.xfail(reason="fixed meanwhile")
def test_unexpected_pass():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("setup fails")

def test_errors(broken):
    pass

def test_warns():
    warnings.warn("careful")

def test_deselected():
    pass

def test_subtests(subtests):
    for n in range(2):
        with subtests.test(n=n):
            assert n < 1
"""


def closing_line(tmp_path: Path, *flags: str) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "test_suite.py").write_text(SUITE)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-k",
            "not deselected",
            *flags,
            "test_suite.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("flags", "subtests"),
    [((), None), (("-q",), 1), (("-v",), 1)],
    ids=["plain", "quiet", "verbose"],
)
def test_every_kind_of_count_is_read(
    tmp_path: Path, flags: tuple[str, ...], subtests: int | None
) -> None:
    counts = pytest_counts(closing_line(tmp_path, *flags))
    assert counts is not None
    assert counts["passed"] == 2  # test_passes and test_warns
    assert counts["failed"] == 3  # test_fails, test_subtests and its subtest n=1
    assert counts["skipped"] == 1
    assert counts["xfailed"] == 1
    assert counts["xpassed"] == 1
    assert counts["error"] == 1
    assert counts["deselected"] == 1
    assert counts["warning"] == 1
    assert counts.get("subtests passed") == subtests  # pytest 9 leaves it out unless -q/-v
    assert summary_counts(counts) == {"passed": 3, "failed": 3, "skipped": 2, "errors": 1}


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("1 failed, 2 passed, 1 skipped in 0.05s", {"passed": 2, "failed": 1, "skipped": 1}),
        ("=========== 3 passed, 2 warnings in 1.20s ===========", {"passed": 3}),
        ("==== 1 error in 0.01s ====", {"errors": 1}),
        ("2 errors, 1 rerun, 4 passed in 3.00s (0:00:03)", {"passed": 4, "errors": 2}),
    ],
)
def test_summary_shows_passed_failed_skipped_and_errors(line: str, shown: dict[str, int]) -> None:
    counts = pytest_counts(line)
    assert counts is not None
    expected = dict.fromkeys(("passed", "failed", "skipped", "errors"), 0) | shown
    assert summary_counts(counts) == expected


@pytest.mark.parametrize("line", ["tests/test_x.py::test_a PASSED", "no tests ran in 0.01s"])
def test_other_lines_give_no_counts(line: str) -> None:
    assert pytest_counts(line) is None


class PytestStepTests(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    """The step's summary, from a real closing line of the suite above."""

    def setUp(self) -> Any:
        self.setup_test_reactor()
        return self.setup_test_build_step()

    @defer.inlineCallbacks
    def test_summary_names_passed_failed_skipped_and_errors(self) -> Any:
        with tempfile.TemporaryDirectory() as suite:
            line = closing_line(Path(suite), "-v")
        self.setup_step(Pytest(command=["pytest"], log_limit=MB, time_limit=60))
        self.expect_commands(
            ExpectShell(workdir="wkdir", command=["pytest"], max_time=60.0)
            .stdout(f"{line}\n")
            .exit(1)
        )
        self.expect_outcome(FAILURE, "9 tests 3 passed 3 failed 2 skipped 1 errors (failure)")
        yield self.run_step()
