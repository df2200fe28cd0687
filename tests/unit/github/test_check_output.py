"""What a check run says: conclusions, titles, summaries of hostile text, annotations in
GitHub's batches of 50 under a cap, and the failures read back from Buildbot's stored
test results."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any

import pytest
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
)
from twisted.internet import defer
from twisted.trial import unittest

from config.github import check_output, checks
from config.github.api import waiting_check_run
from config.github.check_output import Finding, Findings
from config.settings import SettingsError, validate
from tests.fake_github import check_run_problem
from tests.fake_master import make_master
from tests.unit.settings.test_settings import GOOD, message

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    warnings.simplefilter("ignore")
    from buildbot.test import fakedb
    from buildbot.test.reactor import TestReactorMixin


def failure(n: int, lint: bool = False, path: str | None = "tests/test_x.py") -> Finding:
    return Finding(
        lint=lint,
        name=f"tests/test_x.py::test_{n}" if not lint else "E501",
        path=path,
        line=n + 1,
        message=f"AssertionError: {n}\nsecond line\nthird",
        step="tests",
        log_url="http://ci/#/builders/1/builds/2/steps/3/logs/stdio",
    )


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        (SUCCESS, "success"),
        (WARNINGS, "neutral"),
        (FAILURE, "failure"),
        (EXCEPTION, "failure"),
        (CANCELLED, "cancelled"),
        (SKIPPED, "skipped"),
        (RETRY, "neutral"),
        (None, "failure"),
    ],
)
def test_each_build_result_has_a_conclusion_github_knows(
    results: int | None, expected: str
) -> None:
    assert check_output.conclusion(results) == expected


def test_an_expected_failure_is_neutral_so_it_does_not_block_merging() -> None:
    assert check_output.conclusion(FAILURE, expected_failure=True) == "neutral"


def test_the_title_gives_the_counts() -> None:
    found = Findings(passed=120, failed=3, lint=1)
    assert found.title("Build failed.") == "Build failed. 3 failed, 120 passed; 1 lint finding"
    assert Findings().title("Build succeeded.") == "Build succeeded."


@pytest.mark.parametrize(
    ("category", "value", "fails"),
    [
        ("pass_fail", "1", False),
        ("pass_fail", "0", True),
        ("pass_fail", "skipped", False),
        ("pass_fail", "AssertionError: 1 != 2", True),
        ("fail_only", "boom", True),
        ("code_issue", "E501 line too long", True),
        ("pass_only", "1", False),
        ("test", "failed: AssertionError", True),
        ("test", "error", True),
        ("test", "flaky", False),
        ("test", "skipped: not here", False),
        ("lint", "12: E501 line too long", True),
    ],
)
def test_stored_results_are_read_as_buildbot_categories_mean_them(
    category: str, value: str, fails: bool
) -> None:
    assert check_output.is_failure(category, value) is fails


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("tests/test_x.py", "tests/test_x.py"),
        ("./src/a.py", "src/a.py"),
        ("/home/worker/build/a.py", None),
        ("../../etc/passwd", None),
        ("a\x1b[31m.py", None),
        (None, None),
    ],
)
def test_only_repository_paths_are_annotated(path: str | None, kept: str | None) -> None:
    assert check_output.repository_path(path) == kept


def test_the_summary_lists_failures_with_their_first_lines_and_links() -> None:
    found = Findings(passed=1, failed=1, lint=1, found=[failure(1), failure(2, lint=True)])
    text = check_output.summary("Build failed.", "http://ci/#/builders/1/builds/2", found, 0, 500)
    assert text.startswith("**Build failed.** [Open the build](http://ci/#/builders/1/builds/2)")
    assert "### Failing tests (1)" in text and "### Lint findings (1)" in text
    assert "` tests/test_x.py::test_1 ` at ` tests/test_x.py:2 `" in text
    assert "([log](http://ci/#/builders/1/builds/2/steps/3/logs/stdio))" in text
    assert "  AssertionError: 1\n  second line\n  third\n" in text
    assert "left out" not in text


def test_a_message_cannot_close_its_code_block() -> None:
    hostile = Finding(False, "t`` x", "a.py", 1, "````\n# Approved!\n[x](http://evil)", "s", None)
    text = check_output.summary("Build failed.", None, Findings(found=[hostile]), 0, 500)
    # The fence is longer than any run of backticks in the message, so all of it is code.
    assert "  `````\n  ````\n  # Approved!\n  [x](http://evil)\n  `````" in text
    assert "``` t`` x ```" in text


def test_the_summary_lists_a_few_and_says_what_was_left_out() -> None:
    found = Findings(failed=100, found=[failure(n) for n in range(100)])
    made, left_out = check_output.placed_annotations(found, 60)
    text = check_output.summary("Build failed.", None, found, left_out, 60)
    assert text.count("- ` tests/") == check_output.LISTED
    assert "70 more not listed here" in text
    assert "40 annotations left out: a check run carries at most 60" in text
    assert len(made) == 60 and left_out == 40


def test_a_huge_failure_keeps_the_summary_within_githubs_limit() -> None:
    huge = [
        Finding(False, "n" * 500, "a.py", 1, ("x" * 299 + "\n") * 5, "s", None) for _ in range(1000)
    ]
    text = check_output.summary("Build failed.", None, Findings(found=huge), 0, 500)
    assert len(text) <= check_output.SUMMARY_LIMIT


def test_annotations_go_at_their_file_and_line_with_a_level_per_kind() -> None:
    found = Findings(found=[failure(1), failure(2, lint=True), failure(3, path=None)])
    made, left_out = check_output.placed_annotations(found, 500)
    assert left_out == 0
    assert made == [
        {
            "path": "tests/test_x.py",
            "start_line": 2,
            "end_line": 2,
            "annotation_level": "failure",
            "title": "tests/test_x.py::test_1",
            "message": "AssertionError: 1\nsecond line\nthird",
        },
        {
            "path": "tests/test_x.py",
            "start_line": 3,
            "end_line": 3,
            "annotation_level": "warning",
            "title": "E501",
            "message": "AssertionError: 2\nsecond line\nthird",
        },
    ]


@pytest.mark.parametrize(
    ("count", "sizes"), [(0, [0]), (50, [50]), (51, [50, 1]), (120, [50, 50, 20])]
)
def test_annotations_go_fifty_a_request(count: int, sizes: list[int]) -> None:
    items = [{"n": n} for n in range(count)]
    sent = list(check_output.batches(items))
    assert [len(batch) for batch in sent] == sizes
    assert [item for batch in sent for item in batch] == items


def test_a_waiting_pull_requests_check_run_offers_the_approve_button() -> None:
    body = waiting_check_run("buildbot/tests", "b" * 40, "Waiting.", 7, "http://ci/")
    assert check_run_problem(body, created=True) is None
    assert (body["conclusion"], body["external_id"]) == ("action_required", "pull_request:7")
    assert [a["identifier"] for a in body["actions"]] == ["approve"]


def test_check_runs_need_an_app() -> None:
    document = {**GOOD, "github": {"token": "t", "webhook_secret": "s", "checks": True}}
    assert message(document) == (
        "config: github: checks: check runs need a GitHub App (app), not a personal token"
    )
    with pytest.raises(SettingsError):
        validate({**GOOD, "github": {"token": "t", "webhook_secret": "s", "max_annotations": -1}})
    github = validate({**GOOD, "github": {"token": "t", "webhook_secret": "s"}}).github
    assert github is not None and not github.uses_checks()


class StoredResults(TestReactorMixin, unittest.TestCase):
    """The findings come from Buildbot's own stored test results, through its data API."""

    def setUp(self) -> Any:
        return self.stored()

    @defer.inlineCallbacks
    def stored(self) -> Generator[Any, Any, None]:
        self.setup_test_reactor()
        self.master = yield make_master(self, wantData=True, wantDb=True)
        yield self.master.db.insert_test_data(
            [
                fakedb.Master(id=1),
                fakedb.Worker(id=1, name="w"),
                fakedb.Builder(id=1, name="tests"),
                fakedb.Buildset(id=1),
                fakedb.BuildRequest(id=1, buildsetid=1, builderid=1),
                fakedb.Build(id=1, buildrequestid=1, masterid=1, workerid=1, builderid=1, number=7),
                fakedb.Build(id=2, buildrequestid=1, masterid=1, workerid=1, builderid=1, number=8),
                fakedb.Build(id=3, buildrequestid=1, masterid=1, workerid=1, builderid=1, number=9),
                fakedb.Step(id=10, buildid=1, number=2, name="pytest"),
                fakedb.Step(id=11, buildid=1, number=3, name="lint"),
                fakedb.Step(id=12, buildid=2, number=1, name="pytest"),
                fakedb.Build(
                    id=4, buildrequestid=1, masterid=1, workerid=1, builderid=1, number=10
                ),
                fakedb.Step(id=13, buildid=4, number=4, name="tests"),
                fakedb.Step(id=14, buildid=4, number=5, name="ruff"),
            ]
        )
        updates = self.master.data.updates
        tests = yield updates.addTestResultSet(1, 1, 10, "pytest", "pass_fail", "boolean")
        yield updates.addTestResults(
            1,
            tests,
            [
                {"test_name": "test_ok", "test_code_path": "t/test_a.py", "line": 3, "value": "1"},
                {"test_name": "test_bad", "test_code_path": "t/test_a.py", "line": 9, "value": "0"},
            ],
        )
        yield updates.completeTestResultSet(tests, tests_passed=1, tests_failed=1)
        lint = yield updates.addTestResultSet(1, 1, 11, "ruff", "code_issue", "message")
        yield updates.addTestResults(
            1,
            lint,
            [{"test_name": "F401", "test_code_path": "src/b.py", "line": 1, "value": "unused"}],
        )
        yield updates.completeTestResultSet(lint, tests_passed=0, tests_failed=1)
        many = yield updates.addTestResultSet(1, 2, 12, "pytest", "pass_fail", "boolean")
        yield updates.addTestResults(
            1,
            many,
            [
                {
                    "test_name": f"test_{n}",
                    "test_code_path": "t/test_b.py",
                    "line": n + 1,
                    "value": "0",
                }
                for n in range(120)
            ],
        )
        yield updates.completeTestResultSet(many, tests_passed=0, tests_failed=120)
        # As the test and lint steps store them (config/builds/stored_results.py).
        cases = yield updates.addTestResultSet(1, 4, 13, "pytest", "test", "outcome")
        yield updates.addTestResults(
            1,
            cases,
            [
                {"test_name": "t::ok", "test_code_path": "t.py", "line": 1, "value": "passed"},
                {"test_name": "t::flaky", "test_code_path": "t.py", "line": 2, "value": "flaky"},
                {
                    "test_name": "t::skip",
                    "test_code_path": "t.py",
                    "line": 3,
                    "value": "skipped: no",
                },
                {
                    "test_name": "t::bad",
                    "test_code_path": "t.py",
                    "line": 4,
                    "value": "failed: x: 1",
                },
                {"test_name": "t::err", "test_code_path": "t.py", "line": 5, "value": "error"},
            ],
        )
        yield updates.completeTestResultSet(cases, tests_passed=2, tests_failed=2)
        lint = yield updates.addTestResultSet(1, 4, 14, "ruff", "lint", "finding")
        yield updates.addTestResults(
            1,
            lint,
            [{"test_name": "F401", "test_code_path": "a.py", "line": 7, "value": "5: unused"}],
        )
        yield updates.completeTestResultSet(lint, tests_passed=0, tests_failed=1)

    @defer.inlineCallbacks
    def test_failures_and_findings_are_read_with_their_places_and_logs(
        self,
    ) -> Generator[Any, Any, None]:
        found = yield check_output.read_findings(self.master, 1, "http://ci/#/builders/1/builds/7")
        assert (found.passed, found.failed, found.lint) == (1, 1, 1)
        assert found.found == [
            Finding(
                False,
                "test_bad",
                "t/test_a.py",
                9,
                "",
                "pytest",
                "http://ci/#/builders/1/builds/7/steps/2/logs/stdio",
            ),
            Finding(
                True,
                "F401",
                "src/b.py",
                1,
                "unused",
                "lint",
                "http://ci/#/builders/1/builds/7/steps/3/logs/stdio",
            ),
        ]

    @defer.inlineCallbacks
    def test_our_test_and_lint_steps_results_are_read_as_they_store_them(
        self,
    ) -> Generator[Any, Any, None]:
        found = yield check_output.read_findings(self.master, 4, "http://ci/b")
        assert (found.passed, found.failed, found.lint) == (2, 2, 1)
        assert [(f.name, f.message, f.column) for f in found.found] == [
            ("t::bad", "x: 1", None),
            ("t::err", "", None),
            ("F401", "unused", 5),
        ]
        made, _ = check_output.placed_annotations(found, 10)
        assert made[2] == {
            "path": "a.py",
            "start_line": 7,
            "end_line": 7,
            "start_column": 5,
            "end_column": 5,
            "annotation_level": "warning",
            "title": "F401",
            "message": "unused",
        }

    @defer.inlineCallbacks
    def test_a_build_without_stored_results_has_none(self) -> Generator[Any, Any, None]:
        found = yield check_output.read_findings(self.master, 3, "http://ci/")
        assert found == Findings()

    @defer.inlineCallbacks
    def test_completion_sends_the_capped_annotations_fifty_a_request(
        self,
    ) -> Generator[Any, Any, None]:
        build = {"buildid": 2, "results": FAILURE, "url": "http://ci/b/2", "properties": {}}
        name = {"name": "buildbot/tests", "head_sha": "a" * 40}
        sent = yield checks.completion(self.master, build, "Build failed.", name, 100)
        assert [len(r["output"].get("annotations", [])) for r in sent] == [50, 50]
        assert sent[0]["status"] == "completed" and sent[0]["conclusion"] == "failure"
        assert sent[0]["name"] == "buildbot/tests" and "status" not in sent[1]
        assert sent[0]["output"]["title"] == "Build failed. 120 failed, 0 passed"
        assert "20 annotations left out" in sent[1]["output"]["summary"]
        lines = [a["start_line"] for r in sent for a in r["output"]["annotations"]]
        assert lines == list(range(1, 101))
        # Each request is one GitHub takes; all of them at once it refuses.
        assert [check_run_problem(r, created=i == 0) for i, r in enumerate(sent)] == [None, None]
        at_once = {**sent[0], "output": {**sent[0]["output"], "annotations": lines}}
        assert check_run_problem(at_once, created=True) == "at most 50 annotations a request"

    @defer.inlineCallbacks
    def test_a_request_cancelled_before_it_started_completes_cancelled(
        self,
    ) -> Generator[Any, Any, None]:
        request = {"results": CANCELLED, "url": "http://ci/r/5", "properties": {}}
        [sent] = yield checks.completion(self.master, request, "Build cancelled.", {}, 100)
        assert (sent["conclusion"], sent["output"]["title"]) == ("cancelled", "Build cancelled.")
