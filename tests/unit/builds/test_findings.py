"""Lint findings read from the output lines of ruff, flake8, pylint and mypy."""

from __future__ import annotations

import pytest

from config.builds.findings import Finding, finding


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (  # ruff --output-format=concise
            "config/x.py:12:5: F401 [*] `os` imported but unused",
            Finding("config/x.py", 12, 5, "F401", "[*] `os` imported but unused"),
        ),
        (  # flake8
            "x.py:1:80: E501 line too long (90 > 79 characters)",
            Finding("x.py", 1, 80, "E501", "line too long (90 > 79 characters)"),
        ),
        (  # pylint's default text
            "pkg/m.py:1:0: C0114: Missing module docstring (missing-module-docstring)",
            Finding("pkg/m.py", 1, 0, "C0114", "Missing module docstring (missing-module-docstring)"),
        ),
        (  # pylint --output-format=parseable
            "pkg/m.py:7: [W0611(unused-import), ] Unused import os",
            Finding("pkg/m.py", 7, None, "W0611", "Unused import os"),
        ),
        (  # mypy
            "m.py:3: error: Incompatible types in assignment  [assignment]",
            Finding("m.py", 3, None, "assignment", "error: Incompatible types in assignment  [assignment]"),
        ),
    ],
)  # fmt: skip
def test_linters_lines_become_findings(line: str, expected: Finding) -> None:
    assert finding(line) == expected


@pytest.mark.parametrize(
    "line",
    ["Found 3 errors.", "All checks passed!", "  x.py:1:1: F401 indented", "x.py:abc: E1 no", ""],
)
def test_other_lines_are_no_findings(line: str) -> None:
    assert finding(line) is None


def test_a_finding_keeps_its_column_in_its_value() -> None:
    found = finding("a.py:2:9: E225 missing whitespace around operator")

    assert found is not None and found.value == "9: missing whitespace around operator"


@pytest.mark.timeout(20)
def test_lines_made_to_make_the_pattern_backtrack_are_read_at_once() -> None:
    """A build prints what it likes: a line of thousands of spaces once cost the reactor
    half a second to match (quadratic backtracking), a hundred of them nearly a minute."""
    for line in ["a:1: x" + " " * 7990 + "y", "a:1: x" + " " * 7990] * 50:
        found = finding(line)
        assert found is not None and found.message.startswith("x")
