"""What the views show, read from Buildbot's data API in the reactor thread.

Every read is bounded: a build's failing results and slowest tests, a builder's recent
builds. Buildbot 4.3 gives its ``test_results`` endpoint no column names, so a filter, an
order or a limit would be applied in Python after reading the whole set (twenty thousand
rows of a big suite, in the reactor). The result specs here name the columns
(:data:`RESULT_COLUMNS`), and the database does the filtering, ordering and limiting.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from buildbot.data import resultspec
from twisted.internet import defer

from config.builds.merge import MERGED
from config.builds.stored_results import LINT, TESTS

MOST_FAILING = 200
"""The most failing tests (or findings) a step's section lists."""
SLOWEST = 10
HISTORY_BUILDS = 30
"""How many of a builder's recent builds a test's history covers."""
RECENT_BUILDS = 25
"""How many recent builds the overview looks at."""
FAILING_OUTCOMES = ("failed", "error")
PASSING_OUTCOMES = ("passed", "flaky")

RESULT_COLUMNS = {
    "test_name": "test_names.name",
    "value": "test_results.value",
    "duration_ns": "test_results.duration_ns",
    "test_resultid": "test_results.id",
}
# A failing result's value starts with "error" or "failed" (the outcomes, see
# config.builds.junit.OUTCOMES): of the outcomes, only those sort in ["error", "failee").
FAILING = [
    resultspec.Filter("value", "ge", ["error"]),
    resultspec.Filter("value", "lt", ["failee"]),
]


def result_spec(
    filters: list[resultspec.Filter], order: list[str] | None = None, limit: int | None = None
) -> resultspec.ResultSpec:
    spec = resultspec.ResultSpec(filters=filters, order=order, limit=limit)
    spec.fieldMapping = RESULT_COLUMNS
    return spec


@dataclass(frozen=True)
class Result:
    """One stored result, as shown: a test case, or a lint finding."""

    name: str
    outcome: str
    message: str
    path: str | None
    line: int | None
    duration_ns: int | None

    @property
    def location(self) -> str:
        if not self.path:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    @property
    def seconds(self) -> str:
        return "" if self.duration_ns is None else f"{self.duration_ns / 1e9:.3f} s"


def result(row: dict[str, Any], category: str) -> Result:
    """A stored row as shown: a test's value is ``<outcome>[: <message>]``, a finding's
    is its message (after the column)."""
    value = str(row.get("value") or "")
    if category == LINT:
        outcome, message = "finding", value
    else:
        outcome, _, message = value.partition(": ")
    return Result(
        name=str(row.get("test_name") or ""),
        outcome=outcome,
        message=message,
        path=row.get("test_code_path"),
        line=row.get("line"),
        duration_ns=row.get("duration_ns"),
    )


@dataclass
class StepResults:
    """A step's result set: its counts, failing results and slowest tests."""

    step: str
    category: str
    description: str
    passed: int | None
    failed: int | None
    failing: list[Result]
    slowest: list[Result]

    @property
    def more_failing(self) -> int:
        """How many failing results are not listed."""
        return max((self.failed or 0) - len(self.failing), 0)


@dataclass
class BuildResults:
    build: dict[str, Any]
    builder: str
    sets: list[StepResults]


@dataclass(frozen=True)
class Entry:
    """One build of a test's history."""

    buildid: int
    number: int
    build_results: int | None
    tree: str
    outcome: str
    message: str
    flaky: bool = False


@dataclass
class History:
    builderid: int
    builder: str
    test: str
    entries: list[Entry] = field(default_factory=list)


def _name(item: dict[str, Any] | None, key: str, fallback: Any) -> str:
    return str(item[key]) if item else str(fallback)


@defer.inlineCallbacks
def _step_results(data: Any, result_set: dict[str, Any]) -> Generator[Any, Any, StepResults]:
    setid = result_set["test_result_setid"]
    path = ("test_result_sets", setid, "results")
    category = result_set["category"]
    step = yield data.get(("steps", result_set["stepid"]))
    if category == LINT:
        failing = yield data.get_with_resultspec(
            path, result_spec([], order=["test_resultid"], limit=MOST_FAILING)
        )
        slowest: list[dict[str, Any]] = []
    else:
        failing = yield data.get_with_resultspec(
            path, result_spec(list(FAILING), order=["test_resultid"], limit=MOST_FAILING)
        )
        slowest = yield data.get_with_resultspec(
            path,
            result_spec(
                [resultspec.Filter("duration_ns", "ge", [0])],
                order=["-duration_ns"],
                limit=SLOWEST,
            ),
        )
    return StepResults(
        step=_name(step, "name", result_set["stepid"]),
        category=category,
        description=result_set["description"] or "",
        passed=result_set["tests_passed"],
        failed=result_set["tests_failed"],
        failing=[result(row, category) for row in failing],
        slowest=[result(row, category) for row in slowest],
    )


def _shown(sets: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in sets if s["category"] in (TESTS, LINT)]


@defer.inlineCallbacks
def build_results(data: Any, buildid: int) -> Generator[Any, Any, BuildResults | None]:
    """A build's test and lint steps' results; None for no such build."""
    build = yield data.get(("builds", buildid))
    if build is None:
        return None
    builder = yield data.get(("builders", build["builderid"]))
    sets = yield data.get(("builds", buildid, "test_result_sets"))
    shown = []
    for result_set in _shown(sets):
        shown.append((yield _step_results(data, result_set)))
    return BuildResults(build, _name(builder, "name", build["builderid"]), shown)


@dataclass
class Recent:
    """A recent build with stored results, for the overview."""

    build: dict[str, Any]
    builder: str
    passed: int
    failed: int


@defer.inlineCallbacks
def recent_builds(data: Any) -> Generator[Any, Any, list[Recent]]:
    """The recent builds that stored results, newest first, with their counts."""
    builds = yield data.get(("builds",), order=["-buildid"], limit=RECENT_BUILDS)
    builders = yield data.get(("builders",))
    names = {b["builderid"]: b["name"] for b in builders}
    recent = []
    for build in builds:
        sets = _shown((yield data.get(("builds", build["buildid"], "test_result_sets"))))
        if sets:
            passed = sum(s["tests_passed"] or 0 for s in sets)
            failed = sum(s["tests_failed"] or 0 for s in sets)
            recent.append(Recent(build, names.get(build["builderid"], "?"), passed, failed))
    return recent


def tree(properties: dict[str, Any]) -> str:
    """What a build tested: the merge it made, or else the revision it checked out."""
    for name in (MERGED, "got_revision", "revision"):
        value = properties.get(name)
        if value and value[0]:
            return str(value[0])
    return ""


def mark_flaky(entries: list[Entry]) -> list[Entry]:
    """``entries``, those flaky marked: a test that failed and then passed when run again,
    or whose builds of one tree disagree (one passed, another failed)."""
    passed = {e.tree for e in entries if e.tree and e.outcome in PASSING_OUTCOMES}
    failed = {e.tree for e in entries if e.tree and e.outcome in FAILING_OUTCOMES}
    disagree = passed & failed
    return [
        replace(e, flaky=e.outcome == "flaky" or (e.tree in disagree and e.outcome != "skipped"))
        for e in entries
    ]


@defer.inlineCallbacks
def history(data: Any, builderid: int, test: str) -> Generator[Any, Any, History | None]:
    """``test``'s outcomes in the builder's recent builds, newest first; None for no
    such builder."""
    builder = yield data.get(("builders", builderid))
    if builder is None:
        return None
    builds = yield data.get(
        ("builders", builderid, "builds"), order=["-number"], limit=HISTORY_BUILDS
    )
    entries = []
    for build in builds:
        sets = yield data.get(("builds", build["buildid"], "test_result_sets"))
        for result_set in sets:
            if result_set["category"] != TESTS:
                continue
            rows = yield data.get_with_resultspec(
                ("test_result_sets", result_set["test_result_setid"], "results"),
                result_spec([resultspec.Filter("test_name", "eq", [test])], limit=1),
            )
            if rows:
                properties = yield data.get(("builds", build["buildid"], "properties"))
                shown = result(rows[0], TESTS)
                entries.append(
                    Entry(
                        buildid=build["buildid"],
                        number=build["number"],
                        build_results=build["results"],
                        tree=tree(properties or {}),
                        outcome=shown.outcome,
                        message=shown.message,
                    )
                )
                break
    return History(builderid, builder["name"], test, mark_flaky(entries))
