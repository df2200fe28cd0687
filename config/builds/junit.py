"""JUnit XML reports read into test cases: name, file, line, duration, outcome, message.

A report is what a build wrote, so hostile: the XML goes through defusedxml (no entities,
no DTD: no bombs, no reads of the worker's files) and then junitparser, and every field
is bounded. This runs in a thread (it takes seconds for tens of thousands of cases), so it
touches nothing of the reactor's.

The report is read as a stream, each case let go of as soon as it is read, and a case
kept is one small object: tens of thousands of cases then leave few objects behind, so
Python's collector does not go through the whole master's memory meanwhile (a full
collection holds every thread, the reactor's too, for as long as it takes). The reading
thread also lets go of Python's lock every millisecond or so, for the reactor's thread to
take it at once, not after the 5 ms Python lets a busy thread keep it.
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from junitparser import Attr, Error, Failure, JUnitXmlError, Skipped, TestCase

OUTCOMES = ("passed", "failed", "error", "skipped", "flaky")
"""A case's outcome as stored, the first word of its result's value (flaky: failed, then
passed when run again)."""
MOST_CASES = 100_000
"""The most cases a test step stores; a report with more is not read."""
MOST_TAGS = 10 * MOST_CASES
"""The most tags (``<``) a report may hold, whatever its elements."""
VALUE_CHARS = 4000
"""The most of a failure's message and traceback a stored result keeps."""
NAME_CHARS = 500
PAUSE_EVERY = 300
"""Parser events (an element's start or end; about a millisecond's work together) between
two pauses of :data:`PAUSE` seconds."""
PAUSE = 0.0005
# "path/to/file.py:12: AssertionError": where pytest (and most tracebacks) say it failed.
LOCATION = re.compile(r"^(\S[^:\n]*):(\d+):", re.MULTILINE)


class ReportError(ValueError):
    """A report that is not JUnit XML we read: the reason in one line."""


class _Case(TestCase):
    """A testcase with the ``file`` and ``line`` attributes pytest's xunit1 writes."""

    file = Attr()
    line = Attr()


@dataclass(frozen=True, slots=True)
class Case:
    """One test case of a report, as stored."""

    name: str
    outcome: str
    message: str = ""
    path: str | None = None
    line: int | None = None
    duration_ns: int | None = None

    @property
    def value(self) -> str:
        """The stored result's value: ``<outcome>``, or ``<outcome>: <message>``."""
        return f"{self.outcome}: {self.message}" if self.message else self.outcome

    @property
    def failing(self) -> bool:
        return self.outcome in ("failed", "error")


def _bounded(value: Any, limit: int) -> str:
    text = str(value or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _number(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None
    return int(text.strip())


def _duration_ns(case: _Case) -> int | None:
    try:
        seconds = case.time
    except ValueError:
        return None
    if seconds is None or not 0 <= seconds < 1e7:
        return None
    return int(seconds * 1e9)


def _location(case: _Case, text: str, pytest: bool) -> tuple[str | None, int | None]:
    """The case's file and line: where it failed if its traceback says so (in its own
    file), else its attributes (pytest writes 0-based lines there)."""
    path = _bounded(case.file, NAME_CHARS) or None
    line = _number(case.line)
    if line is not None and pytest:
        line += 1
    found = [(p, int(n)) for p, n in LOCATION.findall(text) if path is None or p == path]
    if found:
        return _bounded(found[-1][0], NAME_CHARS), found[-1][1]
    return path, line


_OUTCOME = {Failure: "failed", Error: "error", Skipped: "skipped"}


def _case(case: _Case, pytest: bool) -> Case:
    name = _bounded(case.name, NAME_CHARS) or "(unnamed)"
    if case.classname:
        name = _bounded(f"{case.classname}.{name}", NAME_CHARS)
    outcome, message, text = "passed", "", ""
    for result in case.result:
        outcome = _OUTCOME[type(result)]
        if outcome != "skipped":
            text = str(result.text or "")
        message = "\n".join(filter(None, (_bounded(result.message, VALUE_CHARS), text)))
        if outcome != "skipped":
            break
    path, line = _location(case, text, pytest)
    return Case(
        name=name,
        outcome=outcome,
        message=_bounded(message, VALUE_CHARS),
        path=path,
        line=line,
        duration_ns=_duration_ns(case),
    )


def parse(data: bytes) -> list[Case]:
    """Every test case of a JUnit XML report (``<testsuites>`` or one ``<testsuite>``).

    Raises :class:`ReportError` for anything that is not such a report, or one of more
    than :data:`MOST_CASES` cases.
    """
    if data.count(b"<testcase") > MOST_CASES:
        raise ReportError(f"over {MOST_CASES} test cases")
    # A case is a few elements (its failure, output, properties); millions of tiny ones
    # would cost the master far more memory than the file's size.
    if data.count(b"<") > MOST_TAGS:
        raise ReportError(f"over {MOST_TAGS} tags")
    try:
        return _Reading().read(data)
    except (ParseError, DefusedXmlException, JUnitXmlError) as error:
        raise ReportError(" ".join(str(error).split()) or type(error).__name__) from None
    except (ValueError, TypeError, RecursionError) as error:
        raise ReportError(f"not a JUnit report: {type(error).__name__}: {error}") from None


@dataclass
class _Open:
    """An element being read: a suite's (when it is one of the report's) own cases and
    its inner suites'."""

    element: Element
    suite: bool
    cases: list[Case] = field(default_factory=list)
    inner: list[Case] = field(default_factory=list)


class _Reading:
    """The cases of a report read as a stream, in junitparser's order: a suite's own
    cases, then its inner suites'. A report is ``<testsuites>`` of suites or one
    ``<testsuite>``; cases elsewhere are not the report's."""

    def __init__(self) -> None:
        self.open: list[_Open] = []
        self.cases: list[Case] = []
        self.pytest = False
        """Whether the outer suite is pytest's (its lines are 0-based)."""

    def read(self, data: bytes) -> list[Case]:
        events = iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True)
        for n, (event, element) in enumerate(events):
            if n % PAUSE_EVERY == PAUSE_EVERY - 1:
                # Python's lock left for a moment: the reactor's thread, waiting for it
                # after each of its system calls, takes it now and not 5 ms later.
                time.sleep(PAUSE)
            if event == "start":
                self._start(element)
            else:
                self._end(self.open.pop())
        return self.cases

    def _start(self, element: Element) -> None:
        if not self.open and element.tag not in ("testsuites", "testsuite"):
            raise JUnitXmlError("Invalid format.")
        parent = self.open[-1] if self.open else None
        outer = parent is None or (len(self.open) == 1 and parent.element.tag == "testsuites")
        suite = element.tag == "testsuite" and (outer or (parent is not None and parent.suite))
        if suite and outer:
            self.pytest = element.get("name") == "pytest"
        self.open.append(_Open(element, suite))

    def _end(self, done: _Open) -> None:
        parent = self.open[-1] if self.open else None
        if done.element.tag == "testcase" and parent is not None and parent.suite:
            case = _Case.fromelem(done.element)  # type: ignore[no-untyped-call]
            parent.cases.append(_case(case, self.pytest))
        elif done.suite:
            read = done.cases + done.inner
            (parent.inner if parent is not None and parent.suite else self.cases).extend(read)
        else:
            return  # kept: part of a case, or not the report's
        done.element.clear()  # let go of it: its case is read
        if parent is not None:
            parent.element.remove(done.element)


def counts(cases: Iterable[Case]) -> dict[str, int]:
    """How many cases had each outcome (every one of :data:`OUTCOMES`, maybe 0)."""
    found = Counter(case.outcome for case in cases)
    return {outcome: found[outcome] for outcome in OUTCOMES}


def after_rerun(first: list[Case], again: list[Case]) -> list[Case]:
    """The cases of a run whose failed cases ran ``again``: those that passed then are
    flaky (their first failure kept as the message), the others as they were."""
    passed_again = {case.name for case in again if case.outcome == "passed"}
    return [
        replace(case, outcome="flaky") if case.failing and case.name in passed_again else case
        for case in first
    ]
