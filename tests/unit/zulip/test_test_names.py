"""Zulip's summaries and alerts name a build's first failing and flaky tests."""

from __future__ import annotations

from typing import Any

from buildbot.process.results import FAILURE, WARNINGS

from config.zulip.messages import alert, summary

SOURCESTAMP = {"branch": "master", "revision": "ab" * 20, "repository": "/srv/r.git"}


def build(name: str, results: int, **tests: list[str]) -> dict[str, Any]:
    return {
        "builder": {"name": name},
        "number": 3,
        "url": f"http://ci/#/builders/{name}/builds/3",
        "results": results,
        "properties": {key: (value, "test results") for key, value in tests.items()},
    }


def test_a_summary_names_failing_and_flaky_tests() -> None:
    failing = build("tests", FAILURE, failed_tests=["t.test_a", "t.test_b", "t.test_c", "t.d"])
    flaky = build("lint", WARNINGS, flaky_tests=["t.test_sometimes"])

    lines = summary([failing, flaky], SOURCESTAMP).splitlines()

    assert lines[-2] == (
        ":white_check_mark: [lint](http://ci/#/builders/lint/builds/3) (flaky: `t.test_sometimes`)"
    )
    assert lines[-1] == (
        ":x: [tests](http://ci/#/builders/tests/builds/3) "
        "(failed: `t.test_a`, `t.test_b`, `t.test_c`, ...)"
    )


def test_an_alert_names_failing_tests_shown_as_code() -> None:
    hostile = build("tests", FAILURE, failed_tests=["t.test_x[@**all**`]"])

    message = alert(hostile, SOURCESTAMP)

    assert message.endswith("(failed: ``t.test_x[@**all**`]``)")


def test_builds_without_named_tests_say_nothing_more() -> None:
    message = summary([build("tests", FAILURE)], SOURCESTAMP)

    assert message.splitlines()[-1] == ":x: [tests](http://ci/#/builders/tests/builds/3)"
