"""Event messages copied by what they are made of: equal to upstream's copy, sharing no
container with the message; anything unusual copied by ``copy.deepcopy``; and the canary."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from buildbot.data.base import ResourceType
from dateutil.tz import tzutc

from mends import event_copies
from tests.stock import stock

STARTED = datetime.datetime(2026, 12, 7, 23, 0, tzinfo=tzutc())
BUILD: dict[str, Any] = {
    "buildid": 7,
    "started_at": STARTED,
    "complete": False,
    "results": None,
    "state_string": "building",
    "properties": {"branch": ("feature", "Change"), "raw": (b"\x00", "step")},
    "urls": [{"name": "report", "url": "http://example/r"}],
    "ratio": 0.5,
}


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    event_copies.install()


def test_a_message_is_copied_as_upstream_copies_it() -> None:
    mended = ResourceType.sanitizeMessage(BUILD)
    with stock(ResourceType, "sanitizeMessage"):
        assert ResourceType.sanitizeMessage(BUILD) == mended == BUILD
    mended["properties"]["branch"] = ("other", "x")
    mended["urls"][0]["name"] = "changed"
    assert BUILD["properties"]["branch"] == ("feature", "Change")
    assert BUILD["urls"][0]["name"] == "report"
    assert mended["started_at"] is STARTED  # immutable: shared


class Thing:
    def __init__(self) -> None:
        self.parts = [1]


@pytest.mark.parametrize(
    "unusual",
    [{"a", "b"}, Thing(), datetime.date(2026, 12, 7)],
    ids=["a set", "an object", "a date"],
)
def test_anything_unusual_is_copied_by_deepcopy(
    unusual: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = {"buildid": 1, "inside": [{"part": unusual}]}
    deep = _counting_deepcopies(monkeypatch)
    mended = ResourceType.sanitizeMessage(message)
    assert deep == [message]  # the whole message, as upstream
    part = mended["inside"][0]["part"]
    assert part is not unusual and mended["inside"] is not message["inside"]
    assert vars(part) == vars(unusual) if isinstance(unusual, Thing) else part == unusual


def test_a_message_with_a_cycle_is_copied_by_deepcopy() -> None:
    message: dict[str, Any] = {"buildid": 1}
    message["self"] = message
    mended = ResourceType.sanitizeMessage(message)
    assert mended["self"] is mended and mended is not message


def test_a_container_in_two_places_stays_one_as_deepcopy_keeps_it() -> None:
    shared = {"name": "report"}
    mended = ResourceType.sanitizeMessage({"first": shared, "second": [shared]})
    assert mended["first"] is mended["second"][0] and mended["first"] is not shared


def _counting_deepcopies(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The values ``copy.deepcopy`` is called with from now on, outermost calls only."""
    called: list[Any] = []
    real = copy.deepcopy

    def counting(value: Any, memo: Any = None, *args: Any) -> Any:
        if memo is None:
            called.append(value)
        return real(value, memo, *args)

    monkeypatch.setattr(copy, "deepcopy", counting)
    return called


def test_upstream_copies_each_event_with_deepcopy(monkeypatch: pytest.MonkeyPatch) -> None:
    # The canary: once upstream copies its messages some cheaper way, the mend can go.
    deep = _counting_deepcopies(monkeypatch)
    with stock(ResourceType, "sanitizeMessage"):
        ResourceType.sanitizeMessage(BUILD)
    assert deep == [BUILD]
