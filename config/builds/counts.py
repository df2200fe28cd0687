"""Steps that count: tests with pytest's pass/fail counts, and lint with its warnings."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

from buildbot.plugins import steps
from buildbot.process import logobserver
from buildbot.process.results import SUCCESS, statusToString

from config.builds.limits import Bounded

# pytest's closing line: counts in any order, each "N word" or "N words word" ("2 subtests
# passed"), then the time: "3 passed, 1 failed, 2 skipped, 1 xfailed, 4 warnings in 0.12s",
# between '=' signs unless -q; or "no tests ran in 0.01s".
PYTEST_SUMMARY = re.compile(r"^=*\s*(\d+ [a-z]+(?: [a-z]+)*(?:, \d+ [a-z]+(?: [a-z]+)*)*) in \d")
PYTEST_COUNT = re.compile(r"(\d+) ([a-z]+(?: [a-z]+)*)")
# The kinds a summary shows, from pytest's words for them (singular and plural).
SHOWN = {"passed": "passed", "failed": "failed", "skipped": "skipped"}
SHOWN |= {"error": "errors", "errors": "errors", "xpassed": "passed", "xfailed": "skipped"}


def pytest_counts(line: str) -> dict[str, int] | None:
    """Every count of pytest's closing line, by pytest's words (``{"passed": 3, "2 subtests
    passed"...}`` as ``{"passed": 3, "subtests passed": 2}``), or None for other lines."""
    match = PYTEST_SUMMARY.match(line.strip())
    if not match:
        return None
    return {word: int(number) for number, word in PYTEST_COUNT.findall(match.group(1))}


def summary_counts(counts: dict[str, int]) -> dict[str, int]:
    """What a summary shows of pytest's counts: passed (xpassed too), failed, skipped
    (xfailed too) and errors; subtests, warnings, deselected and reruns are left out."""
    shown = dict.fromkeys(("passed", "failed", "skipped", "errors"), 0)
    for word, number in counts.items():
        if word in SHOWN:
            shown[SHOWN[word]] += number
    return shown


class Pytest(Bounded, steps.Test):
    """Buildbot's Test step, taught to read pytest's closing line for the counts (and its
    logs bounded, :mod:`config.builds.limits`).

    The counts become the step's statistics and summary ("6 tests 4 passed 1 failed 1
    skipped"); errors count as failures in the statistics, and are named in the summary.
    """

    def __init__(self, **kwargs: Any) -> None:
        # pytest's own summary says how many warnings there were; counting every line
        # that mentions "warning" would mark passing runs as WARNINGS.
        super().__init__(warningPattern=None, **kwargs)
        self.addLogObserver("stdio", logobserver.LineConsumerLogObserver(self._summary))

    def _summary(self) -> Generator[None, tuple[str, str], None]:
        while True:
            _, line = yield
            counts = pytest_counts(line)
            if counts is None:
                continue
            shown = summary_counts(counts)
            for kind in ("skipped", "errors"):
                self.setStatistic(f"tests-{kind}", shown[kind])
            failed = shown["failed"] + shown["errors"]
            total = shown["passed"] + failed + shown["skipped"]
            self.setTestResults(total=total, failed=failed, passed=shown["passed"])

    def getResultSummary(self) -> dict[str, str]:
        summary: dict[str, str] = super().getResultSummary()
        if not self.hasStatistic("tests-total"):
            return summary
        total = self.getStatistic("tests-total", 0)
        parts = [f"{total} tests"] if total else []
        for kind, statistic in (
            ("passed", "tests-passed"),
            ("failed", "tests-failed"),
            ("skipped", "tests-skipped"),
            ("errors", "tests-errors"),
        ):
            number = self.getStatistic(statistic, 0)
            if kind == "failed":
                number -= self.getStatistic("tests-errors", 0)
            if number:
                parts.append(f"{number} {kind}")
        text = " ".join(parts) or "no tests ran"
        if self.results != SUCCESS:
            text += f" ({statusToString(self.results)})"
        return {**summary, "step": text}


class Lint(Bounded, steps.WarningCountingShellCommand):
    """Buildbot's warning-counting step with the count in its summary ("lint 2 warnings"),
    as its Sphinx step has (the stock summary shows only the command); its logs bounded."""

    def getResultSummary(self) -> dict[str, str]:
        plural = "" if self.warnCount == 1 else "s"
        summary = f"{self.name} {self.warnCount} warning{plural}"
        if self.results != SUCCESS:
            summary += f" ({statusToString(self.results)})"
        return {"step": summary}
