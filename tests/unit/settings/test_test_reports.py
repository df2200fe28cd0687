"""A test step's reports and reruns: what the schema refuses, in one line naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from config import settings
from config.settings import validate
from tests.unit.settings.test_settings import changed, message

STEP = "projects.0.builders.0.steps.0"


def test_step(**keys: Any) -> dict[str, Any]:
    return changed(STEP, {"kind": "test", "command": ["pytest"], **keys})


test_step.__test__ = False  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            {"junit": ["../elsewhere/*.xml"]},
            f"config: {STEP.replace('.0', '[0]')}.junit[0]: must be a pattern below "
            'the step\'s directory, got "../elsewhere/*.xml"',
        ),
        (
            {"rerun_failures": 1},
            f"config: {STEP.replace('.0', '[0]')}: rerun_failures: needs junit, the "
            "reports that name the failed tests",
        ),
        (
            {"runner": "trial", "junit": ["r.xml"]},
            f"config: {STEP.replace('.0', '[0]')}: junit and rerun_failures: not with runner trial",
        ),
    ],
)
def test_bad_report_settings_are_refused_in_one_line(keys: dict[str, Any], expected: str) -> None:
    assert message(test_step(**keys)) == expected


def rerun(document: dict[str, Any]) -> list[str] | None:
    step = validate(document).projects[0].builders[0].steps[0]
    assert isinstance(step, settings.TestStep)
    return step.rerun


def test_pytest_reruns_its_last_failed_tests_unless_told_otherwise() -> None:
    default = rerun(test_step(junit=["r.xml"], rerun_failures=1))
    told = rerun(test_step(junit=["r.xml"], rerun_failures=1, rerun_command=["make", "again"]))

    assert default == ["pytest", "--last-failed", "--last-failed-no-failures", "none"]
    assert told == ["make", "again"]
