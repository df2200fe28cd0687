"""The figures of a bench run: one row each, with its baseline, printed as one table."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One figure: ``value`` measured, ``baseline`` what it is compared with."""

    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} {unit}" if unit in ("s", "s/build") else f"{value:.1f} {unit}"


def table(rows: Sequence[Row]) -> str:
    """A plain-text table: figure, value, baseline, ratio, target."""
    header = ("figure", "value", "baseline", "ratio", "target")
    lines = [
        (
            row.figure,
            _number(row.value, row.unit),
            f"{_number(row.baseline, row.unit)} ({row.baseline_name})"
            if row.baseline_name
            else "-",
            "-" if row.ratio is None else f"{row.ratio:.2f}x",
            row.target or "-",
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]

    def render(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(cells) for cells in lines)])


def write_json(rows: Sequence[Row], directory: Path, **context: object) -> Path:
    """Save the rows (and how they were made) as ``bench-<time>.json`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / time.strftime("bench-%Y%m%dT%H%M%S.json")
    document = {
        "context": context,
        "rows": [{**asdict(row), "ratio": row.ratio} for row in rows],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
