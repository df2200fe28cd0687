"""Steps that store what they found as Buildbot test results (:mod:`config.builds.
stored_results`): a test step's JUnit XML cases, with failed tests run again once to tell
the flaky from the failing, and a lint step's findings.

Reports are hostile input: fetched bounded (:mod:`config.builds.reports`), parsed in a
thread, and when one cannot be read the step says why in its log and counts from the log
as before.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.process import logobserver
from buildbot.process.results import FAILURE, WARNINGS
from twisted.internet import defer, threads

from config.builds import junit, stored_results
from config.builds.counts import Lint, Pytest
from config.builds.findings import Finding, finding
from config.builds.reports import WorkerReports

MOST_FINDINGS = 10000
NAMED = 5
"""How many failing or flaky tests a build's properties (and so Zulip) name."""
FAILED_TESTS = "failed_tests"
FLAKY_TESTS = "flaky_tests"


def names(cases: list[junit.Case], most: int = NAMED) -> list[str]:
    return [case.name for case in cases[:most]]


def _listed(names: list[str], total: int) -> str:
    more = f" and {total - len(names)} more" if total > len(names) else ""
    return ", ".join(names) + more


class ReportedTests(WorkerReports, Pytest):
    """A test step whose command writes JUnit XML reports (``reports``: glob patterns below
    its directory). Their cases give the counts and are stored; with ``rerun``, failed
    cases run once more and those that pass are flaky: the step WARNINGS, naming them.
    Without readable reports, the counts are pytest's closing line's."""

    warnOnWarnings = True  # a flaky test makes the build WARNINGS too

    def __init__(
        self, *, reports: list[str], rerun: list[str] | None, reports_limit: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.reports = reports
        self.rerun = rerun
        self.reports_limit = reports_limit
        self.flaky: list[junit.Case] = []

    @defer.inlineCallbacks
    def _cases(
        self, log: str = "reports"
    ) -> Generator[Any, Any, tuple[list[junit.Case] | None, list[str]]]:
        """The reports' cases and their paths; None for no cases, with the reasons in the
        step's ``log`` (the command's own log is closed by then)."""
        fetched = yield self.fetch_reports(self.reports, self.reports_limit)
        problems = list(fetched.problems)
        cases: list[junit.Case] = []
        for path, content in fetched.files:
            try:
                cases += yield threads.deferToThread(junit.parse, content)
            except junit.ReportError as error:
                problems.append(f"{path}: {error}")
        if len(cases) > junit.MOST_CASES:
            problems.append(f"over {junit.MOST_CASES} test cases in all")
        paths = [path for path, _ in fetched.files]
        if problems or not fetched.files:
            text = "".join(f"warning: JUnit report: {problem}\n" for problem in problems)
            yield self.addCompleteLog(log, text + "the counts are the log's\n")
            return None, paths
        return cases, paths

    @defer.inlineCallbacks
    def _run_again(self, paths: list[str]) -> Generator[Any, Any, list[junit.Case]]:
        """The cases of the rerun command's reports (the old reports removed first)."""
        for path in paths:
            yield self.runRmFile(path, abandonOnFailure=False)
        command = yield self.makeRemoteShellCommand(command=self.rerun, stdioLogName="rerun")
        yield self.runCommand(command)
        again, _ = yield self._cases("rerun reports")
        return again or []

    def _count(self, cases: list[junit.Case]) -> dict[str, int]:
        """The step's statistics from the reports (in place of the log's); the counts."""
        counted = junit.counts(cases)
        passed = counted["passed"] + counted["flaky"]
        failed = counted["failed"] + counted["error"]
        self.setStatistic("tests-total", passed + failed + counted["skipped"])
        self.setStatistic("tests-passed", passed)
        self.setStatistic("tests-failed", failed)
        self.setStatistic("tests-skipped", counted["skipped"])
        self.setStatistic("tests-errors", counted["error"])
        return counted

    def _name_in_build(self, name: str, cases: list[junit.Case]) -> None:
        earlier = self.getProperty(name) or []
        self.setProperty(name, [*earlier, *names(cases)][:NAMED], "test results")

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        result: int = yield super().run()
        if self.stopped:
            return result
        cases, paths = yield self._cases()
        if cases is None:
            return result
        if self.rerun and any(case.failing for case in cases):
            again = yield self._run_again(paths)
            cases = junit.after_rerun(cases, again)
        failing = [case for case in cases if case.failing]
        self.flaky = [case for case in cases if case.outcome == "flaky"]
        counted = self._count(cases)
        self._name_in_build(FAILED_TESTS, failing)
        self._name_in_build(FLAKY_TESTS, self.flaky)
        yield stored_results.store(
            self,
            "JUnit XML: " + " ".join(self.reports),
            stored_results.TESTS,
            stored_results.OUTCOME,
            cases,
            stored_results.case_rows,
            passed=counted["passed"] + counted["flaky"],
            failed=len(failing),
        )
        if self.flaky and not failing and result == FAILURE and not self._over_bounds():
            return int(WARNINGS)
        return result

    def _over_bounds(self) -> bool:
        return self.out_of_time or any(log.over for log in self.bounded)

    def getResultSummary(self) -> dict[str, str]:
        summary: dict[str, str] = super().getResultSummary()
        if self.flaky and "step" in summary:
            flaky = _listed(names(self.flaky, 3), len(self.flaky))
            summary = {**summary, "step": f"{summary['step']} flaky: {flaky}"}
        return summary


class StoredLint(Lint):
    """The lint step, its findings (the output lines in a linter's concise format)
    stored as a result set too."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.findings: list[Finding] = []
        self.addLogObserver("stdio", logobserver.LineConsumerLogObserver(self._collect))

    def _collect(self) -> Generator[None, tuple[str, str], None]:
        while True:
            stream, line = yield
            if stream == "h":  # the command itself, Buildbot's notes
                continue
            found = finding(line)
            if found is not None and len(self.findings) < MOST_FINDINGS:
                self.findings.append(found)

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        result: int = yield super().run()
        if not self.stopped:
            yield stored_results.store(
                self,
                "lint findings",
                stored_results.LINT,
                stored_results.FINDING,
                self.findings,
                stored_results.finding_rows,
                passed=0,
                failed=len(self.findings),
            )
        return result
