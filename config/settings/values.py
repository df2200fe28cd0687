"""Value types with messages a user understands, and the base of every section.

Each validator turns a value it refuses into a one-line reason that shows the value as it
would appear in the user's document; :mod:`config.settings.errors` puts the key path in
front of it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError


def show(value: Any) -> str:
    """A value as it would appear in the user's JSON, shortened, on one printable line."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_number(value: Any) -> float:
    if not _is_number(value) or not value > 0 or value == float("inf"):
        raise PydanticCustomError(
            "positive_number", "must be a positive number, got {got}", {"got": show(value)}
        )
    return float(value)


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
        raise PydanticCustomError(
            "count", "must be a whole number from 1 to 1000, got {got}", {"got": show(value)}
        )
    return value


def _seconds(value: Any) -> float:
    if not _is_number(value) or not 0 <= value <= 86400:
        raise PydanticCustomError(
            "seconds",
            "must be a number of seconds from 0 to 86400, got {got}",
            {"got": show(value)},
        )
    return float(value)


def _port(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise PydanticCustomError(
            "port", "must be a TCP port from 1 to 65535, got {got}", {"got": show(value)}
        )
    return value


def _name(value: str) -> str:
    """Names become Buildbot identifiers, URLs and file names: keep them plain."""
    if not value or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in value):
        raise PydanticCustomError(
            "name",
            "must be letters, digits, '-', '_' or '.', got {got}",
            {"got": show(value)},
        )
    return value


PositiveNumber = Annotated[float, BeforeValidator(_positive_number)]
Count = Annotated[int, BeforeValidator(_count)]
Seconds = Annotated[float, BeforeValidator(_seconds)]
Port = Annotated[int, BeforeValidator(_port)]
Name = Annotated[str, Field(max_length=100), AfterValidator(_name)]
Text = Annotated[str, Field(min_length=1, max_length=1000)]
Command = Annotated[list[Text], Field(min_length=1)]


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, values are strict."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def require_unique(what: str, names: list[str], key: str = "") -> None:
    """Names must differ; ``key`` names where, for a check whose error has no location."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise PydanticCustomError(
                "duplicate",
                "{key}{what} name {name} is used twice",
                {"key": f"{key}: " if key else "", "what": what, "name": show(name)},
            )
        seen.add(name)
