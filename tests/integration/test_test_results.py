"""Test and lint steps store what they found as Buildbot test results, read back over REST.

One master; one push builds each builder once, on real workers running real pytest suites
made here: failures with their file and line, skips, a test that fails on its first run
only, a run that writes no report, a malformed and an oversized report, twenty thousand
cases, and a linter's findings. The stored results are compared with the reports the
workers wrote.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect, sync_playwright

from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.e2e.test_web_ui import browser, screenshot
from tests.harness import FAILURE, SUCCESS, WARNINGS, GitRepo, Master

pytestmark = pytest.mark.slow

PYTEST = [sys.executable, "-m", "pytest", "-q", "-o", "junit_family=xunit1"]
QUIET = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
BIG = 20_000

SUITE = """import pytest

def test_passes():
    pass

def test_fails():
    assert 1 + 1 == 3, "sums are off"

@pytest.mark.skip(reason="not here")
def test_skipped():
    pass
"""
# Fails on its first run, passes when run again: the marker it leaves is there then.
FLAKY = """import pathlib

def test_sometimes():
    marker = pathlib.Path("ran-once")
    if not marker.exists():
        marker.write_text("")
        assert False, "first run fails"

def test_always():
    pass
"""
# A failing test named and failing with markup that would run script if it were not text.
HOSTILE_ID = "<img src=x onerror=window.__pwned=1>"
HOSTILE = f"""import pytest

@pytest.mark.parametrize("x", [1], ids=["{HOSTILE_ID}"])
def test_named(x):
    assert x == 2, "<script>window.__pwned=2</script>"

def test_fine():
    pass
"""
GENERATE = """import sys
cases, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as out:
    out.write('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="gen">')
    for n in range(cases):
        module = f"big/test_m{n // 1000}"
        out.write(f'<testcase classname="{module.replace("/", ".")}" name="test_{n}" '
                  f'file="{module}.py" line="{n % 1000 + 1}" time="0.002">')
        if n % 100 == 7:
            out.write(f'<failure message="case {n} failed">{module}.py:{n % 1000 + 1}: '
                      "AssertionError</failure>")
        out.write("</testcase>")
    out.write("</testsuite></testsuites>")
"""
FILES = {
    "suite/test_suite.py": SUITE,
    "suite/test_flaky.py": FLAKY,
    "flaky/test_flaky.py": FLAKY,
    "crash/test_crash.py": SUITE,
    "generate.py": GENERATE,
    "hostile/test_hostile.py": HOSTILE,
}
REPORT = "--junitxml=reports/junit.xml"


def test_step(command: list[str], **keys: Any) -> dict[str, Any]:
    return {"kind": "test", "command": command, "env": QUIET, "junit": ["reports/*.xml"], **keys}


test_step.__test__ = False  # type: ignore[attr-defined]

BUILDERS: list[dict[str, Any]] = [
    {
        # The first report is kept aside, to compare with what was stored.
        "name": "suite",
        "steps": [
            test_step(
                [
                    "sh",
                    "-c",
                    f'"$0" "$@" suite {REPORT}; s=$?; cp reports/junit.xml first.xml; exit $s',
                    *PYTEST,
                ],
                rerun_failures=1,
                rerun_command=[*PYTEST, "--last-failed", REPORT, "suite"],
            )
        ],
    },
    {"name": "hostile", "steps": [test_step([*PYTEST, "hostile", REPORT])]},
    {
        "name": "flaky",
        "steps": [test_step([*PYTEST, "flaky", REPORT], rerun_failures=1)],
    },
    {
        # pytest runs, but writes no report.
        "name": "crash",
        "steps": [test_step([*PYTEST, "crash"])],
    },
    {
        "name": "bad-reports",
        "steps": [
            test_step(
                [
                    "sh",
                    "-c",
                    "mkdir -p reports && printf '<testsuites><testsuite><testcase' > "
                    "reports/cut.xml && head -c 3000000 /dev/zero | tr '\\0' ' ' > "
                    "reports/huge.xml && echo '==== 2 passed, 1 skipped in 0.01s ===='",
                ]
            )
        ],
    },
    {
        "name": "big",
        "steps": [
            test_step(
                [
                    "sh",
                    "-c",
                    f'mkdir -p reports && "$0" generate.py {BIG} reports/big.xml',
                    sys.executable,
                ]
            )
        ],
    },
    {
        "name": "lint",
        "steps": [
            {
                "kind": "lint",
                "command": [
                    "sh",
                    "-c",
                    "printf 'pkg/a.py:3:1: F401 `os` imported but unused\\n"
                    "pkg/b.py:12:80: E501 line too long (99 > 79)\\nFound 2 errors.\\n'; exit 1",
                ],
            }
        ],
    },
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Master, dict[str, Any]]]:
    """The master, and each builder's build of one push."""
    root = tmp_path_factory.mktemp("test-results")
    repo = GitRepo.started(root / "repo")
    settings = local_settings(repo.url, BUILDERS, limits={"reports_mb": 2.8})
    settings["workers"]["count"] = 4
    cluster = LocalCluster(root / "cluster", settings)
    try:
        cluster.start()
        master = Master(cluster)
        master.wait_workers(4)
        repo.branch("feature")
        repo.commit(FILES, "suites")
        repo.push()
        builds = master.wait_for_builds(len(BUILDERS), timeout=240)
        names = {b["builderid"]: b["name"] for b in master.get("builders")["builders"]}
        yield master, {names[b["builderid"]]: b for b in builds}
    finally:
        cluster.stop()


def result_sets(master: Master, build: dict[str, Any]) -> list[dict[str, Any]]:
    return list(master.get(f"builds/{build['buildid']}/test_result_sets")["test_result_sets"])


def stored(master: Master, result_set: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The set's results by test name."""
    path = f"test_result_sets/{result_set['test_result_setid']}/results"
    return {r["test_name"]: r for r in master.get(path)["test_results"]}


Stored = tuple[Master, dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]


def stored_by(built: tuple[Master, dict[str, Any]], builder: str) -> Stored:
    """The master, the builder's build, its one result set and that set's results."""
    master, builds = built
    build = builds[builder]
    [result_set] = result_sets(master, build)
    return master, build, result_set, stored(master, result_set)


def step_summary(master: Master, build: dict[str, Any]) -> str:
    [step] = [s for s in master.steps(build["buildid"]) if s["name"] in ("test", "lint")]
    return str(step["state_string"])


def worker_file(master: Master, builder: str, name: str) -> Path:
    """A file the builder's build left in its worker's tree."""
    [found] = master.cluster.root.glob(f"*/{builder}/build/{name}")
    return found


def report_cases(path: Path) -> dict[str, ElementTree.Element]:
    root = ElementTree.parse(path).getroot()
    return {f"{c.get('classname')}.{c.get('name')}": c for c in root.iter("testcase")}


def test_every_case_is_stored_as_the_report_says(built: tuple[Master, dict[str, Any]]) -> None:
    master, build, result_set, results = stored_by(built, "suite")
    report = report_cases(worker_file(master, "suite", "first.xml"))

    assert build["results"] == FAILURE
    assert (result_set["category"], result_set["value_unit"]) == ("test", "outcome")
    assert (result_set["tests_passed"], result_set["tests_failed"]) == (3, 1)
    assert result_set["complete"]
    assert sorted(results) == sorted(report)
    for name, case in report.items():
        result = results[name]
        assert result["test_code_path"] == case.get("file")
        assert result["duration_ns"] == int(float(case.get("time", "0")) * 1e9)
        failure = case.find("failure")
        if failure is not None and name.endswith("test_fails"):
            assert result["value"] == f"failed: {failure.get('message')}\n{failure.text}"
    fails = results["suite.test_suite.test_fails"]
    assert (fails["test_code_path"], fails["line"]) == ("suite/test_suite.py", 7)
    assert results["suite.test_suite.test_skipped"]["value"] == "skipped: not here"
    assert results["suite.test_suite.test_passes"]["value"] == "passed"
    assert results["suite.test_flaky.test_sometimes"]["value"].startswith("flaky: AssertionError")
    assert step_summary(master, build) == (
        "5 tests 3 passed 1 failed 1 skipped (failure) flaky: suite.test_flaky.test_sometimes"
    )
    properties = master.properties(build["buildid"])
    assert properties["failed_tests"] == ["suite.test_suite.test_fails"]
    assert properties["flaky_tests"] == ["suite.test_flaky.test_sometimes"]


def test_a_test_that_passes_when_run_again_is_flaky(
    built: tuple[Master, dict[str, Any]],
) -> None:
    master, build, result_set, results = stored_by(built, "flaky")

    assert build["results"] == WARNINGS
    assert step_summary(master, build) == (
        "2 tests 2 passed (warnings) flaky: flaky.test_flaky.test_sometimes"
    )
    assert (result_set["tests_passed"], result_set["tests_failed"]) == (2, 0)
    values = {name: r["value"] for name, r in results.items()}
    assert values["flaky.test_flaky.test_always"] == "passed"
    assert values["flaky.test_flaky.test_sometimes"].startswith("flaky: AssertionError: first")
    assert "--last-failed" in master.log(build["buildid"], "test", "rerun")


def test_without_a_report_the_counts_come_from_the_log(
    built: tuple[Master, dict[str, Any]],
) -> None:
    master, builds = built
    build = builds["crash"]

    assert build["results"] == FAILURE
    assert result_sets(master, build) == []
    assert step_summary(master, build) == "3 tests 1 passed 1 failed 1 skipped (failure)"
    log = master.log(build["buildid"], "test", "reports")
    assert "warning: JUnit report: no file matches reports/*.xml" in log


def test_malformed_and_oversized_reports_are_warnings(
    built: tuple[Master, dict[str, Any]],
) -> None:
    master, builds = built
    build = builds["bad-reports"]
    log = master.log(build["buildid"], "test", "reports")

    assert build["results"] == SUCCESS
    assert result_sets(master, build) == []
    assert step_summary(master, build) == "3 tests 2 passed 1 skipped"
    assert "warning: JUnit report: reports/cut.xml: unclosed token: line 1" in log
    assert "warning: JUnit report: reports/huge.xml: over the reports' limit of 2.8 MB" in log
    # Nothing went wrong on the master meanwhile (no step of any build raised).
    assert "Traceback" not in (master.cluster.master_dir / "twistd.log").read_text()


def test_twenty_thousand_cases_are_all_stored(built: tuple[Master, dict[str, Any]]) -> None:
    master, build, result_set, results = stored_by(built, "big")
    report = report_cases(worker_file(master, "big", "reports/big.xml"))

    assert build["results"] == SUCCESS  # the command succeeded; the report has failures
    assert (result_set["tests_passed"], result_set["tests_failed"]) == (BIG - 200, 200)
    assert len(results) == len(report) == BIG
    for name, case in report.items():
        failure = case.find("failure")
        expected = "passed" if failure is None else f"failed: case {name.split('_')[-1]} failed"
        assert results[name]["value"].split("\n")[0] == expected
        assert results[name]["line"] == int(case.get("line", "0"))
    assert step_summary(master, build) == f"{BIG} tests {BIG - 200} passed 200 failed"


def test_lint_findings_are_stored(built: tuple[Master, dict[str, Any]]) -> None:
    _, _, result_set, results = stored_by(built, "lint")

    assert (result_set["category"], result_set["tests_failed"]) == ("lint", 2)
    assert {
        (r["test_name"], r["test_code_path"], r["line"], r["value"]) for r in results.values()
    } == {
        ("F401", "pkg/a.py", 3, "1: `os` imported but unused"),
        ("E501", "pkg/b.py", 12, "80: line too long (99 > 79)"),
    }


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with sync_playwright() as driver:
        context = browser(driver, tmp_path_factory.mktemp("chromium"))
        try:
            yield context
        finally:
            context.close()


def test_the_view_lists_failing_tests_as_text_and_their_history_links_builds(
    built: tuple[Master, dict[str, Any]], chromium: BrowserContext
) -> None:
    master, build, _, _ = stored_by(built, "hostile")
    [step] = [s for s in master.steps(build["buildid"]) if s["name"] == "test"]
    [link] = [u["url"] for u in step["urls"] if u["name"] == "test results"]
    page = chromium.new_page()
    answer = page.goto(link)
    assert answer is not None and answer.status == 200
    assert "script-src" not in answer.headers["content-security-policy"]
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")

    name = f"hostile.test_hostile.test_named[{HOSTILE_ID}]"
    row = page.locator(".bb-failing tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text(name)
    expect(row.locator("td").nth(1)).to_have_text("failed")
    expect(row.locator("td").nth(2)).to_have_text("hostile/test_hostile.py:5")
    expect(row.locator("td").nth(3)).to_contain_text("<script>window.__pwned=2</script>")
    expect(page.locator(".bb-slowest")).to_contain_text("hostile.test_hostile.test_fine")
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("window.__pwned") is None
    screenshot(page, "test-results-build.png")

    row.get_by_role("link", name=name).click()
    expect(page.locator("h1")).to_have_text(name)
    history = page.locator(".bb-history tbody tr")
    expect(history).to_have_count(1)
    expect(history).to_contain_text("failed")
    builder = master.builder("hostile")["builderid"]
    expect(history.get_by_role("link", name=f"#{build['number']}")).to_have_attribute(
        "href", f"{master.url}#/builders/{builder}/builds/{build['number']}"
    )
    assert page.evaluate("window.__pwned") is None


def test_the_view_lists_lint_findings_and_flaky_tests_and_the_menu_lists_builds(
    built: tuple[Master, dict[str, Any]], chromium: BrowserContext
) -> None:
    master, build, _, _ = stored_by(built, "suite")
    builder = master.builder("suite")["builderid"]
    page = chromium.new_page()
    view = f"{master.url}plugins/wsgi_dashboards/test-results"
    page.goto(f"{view}/history/{builder}?test=suite.test_flaky.test_sometimes")
    expect(page.locator(".bb-history tbody tr")).to_contain_text("flaky")

    page.goto(f"{view}/build/{built[1]['lint']['buildid']}")
    findings = page.locator(".bb-findings tbody tr")
    expect(findings).to_have_count(2)
    expect(findings.nth(0)).to_contain_text("F401")
    expect(findings.nth(0)).to_contain_text("pkg/a.py:3")
    expect(findings.nth(0)).to_contain_text("`os` imported but unused")

    # The overview, in the UI's frame, links each build's results.
    page.goto(f"{master.url}#/test-results")
    overview = page.locator(".bb-test-results")
    expect(overview).to_contain_text(f"suite #{build['number']}")
    screenshot(page, "test-results-overview.png")
    overview.get_by_role("link", name="failing and slowest tests").first.click()
    expect(page.locator("main h1")).to_be_visible()
    # The database filtered, ordered and limited every read (Buildbot warns when it cannot).
    log = (master.cluster.master_dir / "twistd.log").read_text()
    assert "query is not backed by db" not in log
