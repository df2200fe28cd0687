"""JUnit XML reports, as real pytest writes them and as hostile builds might, read into
the cases that are stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.builds.junit import MOST_CASES, ReportError, after_rerun, counts, parse

SUITE = """
import pytest

class TestMaths:
    def test_adds(self):
        assert 1 + 1 == 3, "sums are off"

def test_passes():
    pass

def test_skips_itself():
    pytest.skip("not here")

@pytest.fixture
def database():
    yield "db"
    raise ConnectionError("no database")

def test_needs_a_database(database):
    pass
"""


def pytest_report(tmp_path: Path, family: str) -> bytes:
    (tmp_path / "test_suite.py").write_text(SUITE)
    report = tmp_path / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py",
         f"--junitxml={report}", "-o", f"junit_family={family}"],
        cwd=tmp_path, capture_output=True, check=False,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )  # fmt: skip
    return report.read_bytes()


def test_pytest_cases_have_names_outcomes_places_and_messages(tmp_path: Path) -> None:
    cases = {case.name: case for case in parse(pytest_report(tmp_path, "xunit1"))}

    assert sorted(cases) == [
        "test_suite.TestMaths.test_adds",
        "test_suite.test_needs_a_database",
        "test_suite.test_passes",
        "test_suite.test_skips_itself",
    ]
    failed = cases["test_suite.TestMaths.test_adds"]
    assert (failed.outcome, failed.path, failed.line) == ("failed", "test_suite.py", 6)
    assert failed.value.startswith("failed: AssertionError: sums are off")
    assert "test_suite.py:6: AssertionError" in failed.message  # the traceback follows
    assert failed.duration_ns is not None and failed.duration_ns >= 0
    passed = cases["test_suite.test_passes"]
    # pytest writes 0-based lines: the test's def is on line 8.
    assert (passed.value, passed.path, passed.line) == ("passed", "test_suite.py", 8)
    assert cases["test_suite.test_skips_itself"].value == "skipped: not here"
    error = cases["test_suite.test_needs_a_database"]  # its fixture fails after it
    assert (error.outcome, error.line) == ("error", 17)
    assert "ConnectionError: no database" in error.message
    assert counts(cases.values()) == {
        "passed": 1, "failed": 1, "error": 1, "skipped": 1, "flaky": 0,
    }  # fmt: skip


def test_without_file_attributes_a_failure_is_placed_by_its_traceback(tmp_path: Path) -> None:
    cases = {case.name: case for case in parse(pytest_report(tmp_path, "xunit2"))}

    failed = cases["test_suite.TestMaths.test_adds"]
    assert (failed.path, failed.line) == ("test_suite.py", 6)
    assert (cases["test_suite.test_passes"].path, cases["test_suite.test_passes"].line) == (
        None,
        None,
    )


def test_one_suite_nested_suites_and_other_tools_reports() -> None:
    report = b"""<testsuite name="go">
      <testcase classname="pkg" name="TestA" time="1.5" file="a_test.go" line="12"/>
      <testsuite name="inner"><testcase name="TestB"><failure>boom</failure></testcase>
      </testsuite></testsuite>"""

    [first, second] = parse(report)

    assert (first.name, first.path, first.line, first.duration_ns) == (
        "pkg.TestA", "a_test.go", 12, 1_500_000_000,
    )  # fmt: skip
    assert (second.name, second.value) == ("TestB", "failed: boom")


@pytest.mark.parametrize(
    "report",
    [
        b"<testsuites><testsuite>",  # cut short: a crash mid-write
        b"not xml at all",
        b"<html><body>no tests</body></html>",
        b"",
        # An entity bomb, and an entity that reads the worker's files.
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<testsuite><testcase name='&b;'/></testsuite>",
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<testsuite><testcase name='&x;'/></testsuite>",
    ],
)
def test_what_is_not_a_report_is_refused_in_one_line(report: bytes) -> None:
    with pytest.raises(ReportError) as refused:
        parse(report)

    assert "\n" not in str(refused.value)


def test_a_report_of_too_many_cases_is_refused_before_it_is_parsed() -> None:
    report = b"<testsuite>" + b"<testcase name='t'/>" * (MOST_CASES + 1) + b"</testsuite>"

    with pytest.raises(ReportError, match="over 100000 test cases"):
        parse(report)


def test_hostile_fields_are_bounded_and_odd_values_left_out() -> None:
    long = "x" * 100_000
    report = (
        f'<testsuite><testcase name="{long}" time="soon" line="-3">'
        f'<failure message="{long}">{long}</failure></testcase></testsuite>'
    ).encode()

    [case] = parse(report)

    assert len(case.name) <= 500 and len(case.value) <= 4010
    assert (case.duration_ns, case.line) == (None, None)


def test_failed_cases_that_pass_again_are_flaky_the_others_stay() -> None:
    first = parse(
        b"""<testsuite><testcase name="flaky"><failure message="first"/></testcase>
        <testcase name="broken"><failure message="always"/></testcase>
        <testcase name="fine"/></testsuite>"""
    )
    again = parse(
        b"""<testsuite><testcase name="flaky"/>
        <testcase name="broken"><failure message="again"/></testcase></testsuite>"""
    )

    after = {case.name: case.value for case in after_rerun(first, again)}

    assert after == {"flaky": "flaky: first", "broken": "failed: always", "fine": "passed"}
