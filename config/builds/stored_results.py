"""Results stored as Buildbot's test results, through its data API, a batch at a time.

Each batch is made into rows only when its turn comes, then stored in one database
transaction in Buildbot's database thread; between batches the reactor serves others, so
twenty thousand results hold it for no long stretch, and no more than a batch of rows
is alive at once (few objects for Python's collector: see :mod:`config.builds.junit`). The set's
passed and failed counts are ours (Buildbot counts only its own categories' values).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any, TypeVar

from twisted.internet import defer

from config.builds.findings import Finding
from config.builds.junit import Case

BATCH = 200
Item = TypeVar("Item")
TESTS = "test"
"""The result set category of a test step's cases; their unit is :data:`OUTCOME`."""
OUTCOME = "outcome"
LINT = "lint"
"""The result set category of a lint step's findings; their unit is :data:`FINDING`."""
FINDING = "finding"


def case_rows(cases: Iterable[Case]) -> list[dict[str, Any]]:
    """Test cases as rows of Buildbot's ``addTestResults``."""
    rows = []
    for case in cases:
        row: dict[str, Any] = {"value": case.value, "test_name": case.name}
        if case.path is not None:
            row["test_code_path"] = case.path
        if case.line is not None:
            row["line"] = case.line
        if case.duration_ns is not None:
            row["duration_ns"] = case.duration_ns
        rows.append(row)
    return rows


def finding_rows(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Lint findings as rows: the code is the name, the location the path and line."""
    return [
        {"value": f.value, "test_name": f.code, "test_code_path": f.path, "line": f.line}
        for f in findings
    ]


@defer.inlineCallbacks
def store(
    step: Any,
    description: str,
    category: str,
    unit: str,
    items: Sequence[Item],
    rows: Callable[[Sequence[Item]], list[dict[str, Any]]],
    passed: int,
    failed: int,
) -> Generator[Any, Any, int]:
    """A completed result set of ``step`` holding the ``rows`` of ``items``; its id."""
    updates = step.master.data.updates
    builderid = yield step.build.getBuilderId()
    setid = yield updates.addTestResultSet(
        builderid, step.build.buildid, step.stepid, description, category, unit
    )
    for start in range(0, len(items), BATCH):
        yield updates.addTestResults(builderid, setid, rows(items[start : start + BATCH]))
    yield updates.completeTestResultSet(setid, tests_passed=passed, tests_failed=failed)
    yield step.addURL("test results", view_url(step.master, step.build.buildid))
    return int(setid)


VIEW = "plugins/wsgi_dashboards/test-results"
"""Where the web UI's view of stored results is served (:mod:`config.web.test_views`)."""


def view_url(master: Any, buildid: int) -> str:
    """The view of one build's stored results, as a link for its steps."""
    return f"{master.config.buildbotURL}{VIEW}/build/{buildid}"
