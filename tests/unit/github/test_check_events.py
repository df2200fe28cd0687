"""Check deliveries are read strictly: what a button press or a re-run names, and a clear
refusal (400) for any other shape."""

from __future__ import annotations

from typing import Any

import pytest

from config.github.check_events import CheckDelivery

RUN: dict[str, Any] = {
    "action": "requested_action",
    "check_run": {"name": "buildbot/tests", "head_sha": "c" * 40, "external_id": "pull_request:9"},
    "requested_action": {"identifier": "approve"},
    "repository": {"full_name": "ClusterHQ/Flocker"},
    "sender": {"login": "boss"},
}


def test_a_button_press_names_the_pull_request_commit_and_who_pressed() -> None:
    check = CheckDelivery.from_payload("check_run", RUN)
    assert (check.repository, check.sha, check.name) == (
        "clusterhq/flocker",
        "c" * 40,
        "buildbot/tests",
    )
    assert (check.waiting, check.identifier, check.sender) == (9, "approve", "boss")


@pytest.mark.parametrize("external_id", ["", "pull_request:", "pull_request:9x", "build:3", None])
def test_only_our_waiting_check_runs_name_a_pull_request(external_id: Any) -> None:
    payload = {**RUN, "check_run": {**RUN["check_run"], "external_id": external_id}}
    assert CheckDelivery.from_payload("check_run", payload).waiting is None


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {**RUN, "check_run": "x"},
        {**RUN, "check_run": {"name": "n"}},
        {**RUN, "repository": 3},
        {**RUN, "requested_action": "approve"},
        {**RUN, "sender": ["boss"]},
        {k: v for k, v in RUN.items() if k != "action"},
    ],
)
def test_any_other_shape_is_refused_in_one_line(payload: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"^check_run payload is incomplete$"):
        CheckDelivery.from_payload("check_run", payload)
