"""What a check run says: its conclusion, title, Markdown summary and annotations.

The failing tests and lint findings come from Buildbot's stored test results of the
build's steps (``/builds/<id>/test_result_sets`` and ``/test_result_sets/<id>/results``
of the data API), each at its ``test_code_path`` and ``line``. The test steps store sets
of category ``test`` whose values are ``<outcome>`` or ``<outcome>: <message>`` (failed
and error fail; passed, skipped and flaky do not), the lint steps sets of category
``lint`` whose values are ``<column>: <message>`` or the message (each a finding)
(:mod:`config.builds.stored_results`). Buildbot's own categories read as Buildbot means
them: ``pass_fail`` (``1`` passed, ``0`` failed), ``fail_only`` (each a failure) and
``code_issue`` (each a finding).

Everything here is a build's output, so hostile: messages go into fenced code blocks whose
fence is longer than any run of backticks in them, names into code spans, paths are kept
only when relative to the repository, and every text is cut to GitHub's limits.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

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

PER_REQUEST = 50
"""Annotations GitHub takes in one request (more is refused with 422)."""
SUMMARY_LIMIT = 65535
"""Characters GitHub keeps of a check run's summary."""
MESSAGE_LIMIT = 4000
"""Characters of a failure's message an annotation carries (GitHub takes 64 KB)."""
FIRST_LINES = 5
"""Lines of each failure's message the summary shows."""
LISTED = 30
"""Failing tests and findings the summary lists, at most."""

CONCLUSIONS = {
    SUCCESS: "success",
    WARNINGS: "neutral",
    FAILURE: "failure",
    EXCEPTION: "failure",
    CANCELLED: "cancelled",
    SKIPPED: "skipped",
    RETRY: "neutral",
}
PASSING = ("1", "true", "pass", "passed", "success", "ok", "skip", "skipped", "flaky")
FAILING = ("0", "false", "fail", "failed", "failure", "error")
LINT = ("lint", "code_issue")
"""The categories whose results are each a lint finding."""
COLUMN = re.compile(r"(\d{1,6}): (.*)", re.DOTALL)


@dataclass(frozen=True)
class Finding:
    """A failing test or a lint finding, where it is and what it says."""

    lint: bool
    name: str
    path: str | None
    line: int | None
    message: str
    step: str
    log_url: str | None
    column: int | None = None


@dataclass
class Findings:
    """A build's counts and its failures and lint findings, failures first."""

    passed: int = 0
    failed: int = 0
    lint: int = 0
    found: list[Finding] = field(default_factory=list)

    def title(self, outcome: str) -> str:
        """The check run's title: the outcome and the counts."""
        counts = []
        if self.passed or self.failed:
            counts.append(f"{self.failed} failed, {self.passed} passed")
        if self.lint:
            counts.append(f"{self.lint} lint finding{'s' if self.lint != 1 else ''}")
        return f"{outcome} {'; '.join(counts)}".strip() if counts else outcome


def conclusion(results: int | None, expected_failure: bool = False) -> str:
    """GitHub's conclusion of a build's results; an expected failure is ``neutral``."""
    if expected_failure:
        return "neutral"
    return CONCLUSIONS.get(results if results is not None else EXCEPTION, "failure")


def is_failure(category: str, value: str) -> bool:
    """Whether one stored result of a set of ``category`` is a failure (or a finding)."""
    if category in ("fail_only", *LINT):
        return True
    if category == "pass_only":
        return False
    head = value.split(":", 1)[0].strip().lower()
    return head in FAILING or head not in ("", *PASSING)


def repository_path(path: str | None) -> str | None:
    """``path`` relative to the repository, or None (absolute, outside, or empty)."""
    if not path:
        return None
    path = path.replace("\\", "/").removeprefix("./")
    if path.startswith("/") or ".." in path.split("/") or not path.isprintable():
        return None
    return path


def message_of(category: str, value: str) -> tuple[str, int | None]:
    """A stored value's message (without its outcome) and, for a finding, its column."""
    if category in LINT:
        found = COLUMN.fullmatch(value)
        return (found[2], int(found[1])) if found else (value, None)
    head, _, rest = value.partition(":")
    if head.strip().lower() in (*FAILING, *PASSING):
        return rest.strip(), None
    return value, None


@defer.inlineCallbacks
def read_findings(master: Any, buildid: int, build_url: str) -> Generator[Any, Any, Findings]:
    """The counts, failures and lint findings stored for the build's steps."""
    found = Findings()
    sets = yield master.data.get(("builds", buildid, "test_result_sets"))
    if not sets:
        return found
    steps = {s["stepid"]: s for s in (yield master.data.get(("builds", buildid, "steps")))}
    for result_set in sets:
        category = str(result_set.get("category") or "")
        failed = int(result_set.get("tests_failed") or 0)
        if category in LINT:
            found.lint += failed
        else:
            found.passed += int(result_set.get("tests_passed") or 0)
            found.failed += failed
        if not failed:
            continue
        step = steps.get(result_set["stepid"], {})
        log_url = f"{build_url}/steps/{step['number']}/logs/stdio" if step else None
        results = yield master.data.get(
            ("test_result_sets", result_set["test_result_setid"], "results")
        )
        for result in results:
            value = str(result.get("value") or "")
            if not is_failure(category, value):
                continue
            message, column = message_of(category, value)
            found.found.append(
                Finding(
                    lint=category in LINT,
                    name=str(result.get("test_name") or result.get("test_code_path") or "?"),
                    path=repository_path(result.get("test_code_path")),
                    line=result.get("line"),
                    message=message,
                    step=str(step.get("name", "")),
                    log_url=log_url,
                    column=column,
                )
            )
    found.found.sort(key=lambda f: f.lint)
    return found


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _code(text: str) -> str:
    """``text`` as a Markdown code span, whatever backticks it holds."""
    text = " ".join(text.split())[:200]
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def _entry(finding: Finding) -> str:
    where = (
        f" at {_code(f'{finding.path}:{finding.line}')}" if finding.path and finding.line else ""
    )
    log = f" ([log]({finding.log_url}))" if finding.log_url else ""
    head = f"- {_code(finding.name)}{where}{log}"
    lines = finding.message.strip().splitlines()[:FIRST_LINES]
    if not lines:
        return head
    body = "\n".join(line[:300] for line in lines)
    fence = _fence(body)
    return (
        f"{head}\n\n  {fence}\n"
        + "".join(f"  {line}\n" for line in body.splitlines())
        + f"  {fence}"
    )


def summary(
    description: str, build_url: str | None, findings: Findings, left_out: int, cap: int
) -> str:
    """The check run's Markdown summary: the outcome with a link to the build, the first
    failing tests and findings with the first lines of each, and what was left out."""
    parts = [f"**{description}**" + (f" [Open the build]({build_url})" if build_url else "")]
    shown = 0
    for lint, heading in ((False, "Failing tests"), (True, "Lint findings")):
        group = [f for f in findings.found if f.lint == lint]
        if not group:
            continue
        parts.append(f"### {heading} ({len(group)})")
        for finding in group:
            entry = _entry(finding)
            if shown >= LISTED or sum(map(len, parts)) + len(entry) > SUMMARY_LIMIT - 1000:
                break
            parts.append(entry)
            shown += 1
    unlisted = len(findings.found) - shown
    if unlisted > 0:
        parts.append(f"{unlisted} more not listed here: see the build.")
    if left_out:
        parts.append(
            f"{left_out} annotations left out: a check run carries at most {cap}"
            " (github.max_annotations)."
        )
    return "\n\n".join(parts)[:SUMMARY_LIMIT]


def placed_annotations(findings: Findings, cap: int) -> tuple[list[dict[str, Any]], int]:
    """The annotations of the findings that have a file and line (at most ``cap``), and
    how many such findings were left out."""
    placed = [f for f in findings.found if f.path and f.line and f.line > 0]
    made = [
        {
            "path": f.path,
            "start_line": f.line,
            "end_line": f.line,
            **({"start_column": f.column, "end_column": f.column} if f.column else {}),
            "annotation_level": "warning" if f.lint else "failure",
            "title": f.name[:255],
            "message": (f.message.strip() or ("Lint finding" if f.lint else "Test failed"))[
                :MESSAGE_LIMIT
            ],
        }
        for f in placed[:cap]
    ]
    return made, len(placed) - len(made)


def batches(items: list[dict[str, Any]], size: int = PER_REQUEST) -> Iterator[list[dict[str, Any]]]:
    """``items`` in requests GitHub takes; always one batch, empty when there are none."""
    yield items[:size]
    for start in range(size, len(items), size):
        yield items[start : start + size]
