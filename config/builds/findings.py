"""Lint findings read from a linter's output lines: path, line, column, code, message.

The concise formats of ruff and flake8 (``path:line:col: CODE message``), pylint's
(``path:line:col: CODE: message``, and its ``parseable`` ``path:line: [CODE(symbol), obj]
message``) and mypy's (``path:line: error: message  [code]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.builds.junit import NAME_CHARS, VALUE_CHARS

FINDING = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?:(?P<column>\d+):)?\s+"
    r"(?:(?P<code>[A-Z]+[0-9]+):?\s+"  # ruff, flake8, pylint
    r"|\[(?P<bracketed>[A-Z]+[0-9]+)(?:\([^)]*\))?[^\]]*\]\s+)?"  # pylint parseable
    r"(?P<message>\S.*)$"
)
MYPY_CODE = re.compile(r"\s+\[(?P<code>[a-z][a-z0-9-]*)\]$")


@dataclass(frozen=True)
class Finding:
    """One finding, as stored: its code is the result's name, its location the result's."""

    path: str
    line: int
    column: int | None
    code: str
    message: str

    @property
    def value(self) -> str:
        """The stored result's value: ``<column>: <message>`` as the linter put it after
        ``path:line:``, or the message alone when there is no column."""
        return self.message if self.column is None else f"{self.column}: {self.message}"


def finding(line: str) -> Finding | None:
    """The finding a linter's output line reports, or None for any other line."""
    match = FINDING.match(line[: VALUE_CHARS * 2])
    if not match:
        return None
    message = match["message"].rstrip()
    code = match["code"] or match["bracketed"]
    if code is None:
        # Only the end can be mypy's code: a search of the whole line is quadratic in
        # the spaces a hostile line holds.
        mypy = MYPY_CODE.search(message[-100:])
        code = mypy["code"] if mypy else "lint"
    column = match["column"]
    return Finding(
        path=match["path"][:NAME_CHARS],
        line=int(match["line"]),
        column=int(column) if column is not None else None,
        code=code,
        message=message[:VALUE_CHARS],
    )
