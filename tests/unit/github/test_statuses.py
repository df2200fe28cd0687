"""Which reporters the settings give, and what the commit statuses tell GitHub."""

from __future__ import annotations

from typing import Any

import pytest
from buildbot.plugins import util
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS, WARNINGS
from buildbot.reporters.generators.build import BuildStartEndStatusGenerator
from buildbot.reporters.generators.buildrequest import BuildRequestGenerator

from config import master
from config.github import statuses
from config.settings import SettingsError, validate
from tests.unit.settings.test_settings import GOOD

GITHUB = {"token": "t", "webhook_secret": "s"}
ZULIP = {"site": "https://zulip.example.com", "bot_email": "bot@example.com", "api_key": "k"}


def made(**sections: Any) -> list[Any]:
    """The reporters of GOOD with ``sections``."""
    settings = validate({**GOOD, **sections})
    return master.reporters(settings, master.github_credentials(settings))


def test_no_sections_no_reporters() -> None:
    assert made() == []


def test_github_section_gives_commit_statuses_with_pending() -> None:
    [status] = made(github=GITHUB)

    options = status._config_kwargs
    assert isinstance(status, statuses.CommitStatusPush)
    # Explicit generators drop Buildbot's default pending one; ours lists it again.
    assert {type(g) for g in options["generators"]} == {
        BuildRequestGenerator,
        BuildStartEndStatusGenerator,
    }
    assert repr(options["token"]) == repr(util.Secret("github.token"))
    assert options["baseURL"] == "https://api.github.com"


def test_report_status_false_gives_no_commit_statuses() -> None:
    assert made(github={**GITHUB, "report_status": False}) == []


def test_expected_failure_description_unless_forced_to_report() -> None:
    failed = {
        "complete": True,
        "results": FAILURE,
        "properties": {"expected_failure": (True, "Builder")},
    }
    forced = {
        **failed,
        "properties": {**failed["properties"], "report-expected-failures": (True, "Force")},
    }

    assert statuses.describe(failed).startswith("Expected failure:")
    assert statuses.describe(forced) == "Build failed."


def test_github_defaults() -> None:
    github = validate({**GOOD, "github": GITHUB}).github
    assert github is not None
    assert (github.api_url, github.report_status) == ("https://api.github.com", True)
    assert validate({**GOOD, "zulip": ZULIP}).zulip.stream == "buildbot"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"github": {"token": "t"}}, "config: github.webhook_secret: required key is missing"),
        (
            {"github": {**GITHUB, "report_status": "no"}},
            "config: github.report_status: must be true or false",
        ),
        ({"zulip": {**ZULIP, "api_key": None}}, "config: zulip.api_key:"),
        ({"zulip": {**ZULIP, "channel": "x"}}, "config: zulip.channel: unknown key"),
    ],
)
def test_bad_sections_name_the_key(section: dict[str, Any], expected: str) -> None:
    with pytest.raises(SettingsError) as raised:
        validate({**GOOD, **section})
    assert str(raised.value).startswith(expected)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("build", "text"),
    [
        ({"complete": False}, "Waiting for a worker."),
        ({"complete": False, "started_at": "then"}, "Build started."),
        ({"complete": True, "results": SUCCESS}, "Build succeeded."),
        ({"complete": True, "results": WARNINGS}, "Build succeeded with warnings."),
        ({"complete": True, "results": FAILURE}, "Build failed."),
        ({"complete": True, "results": EXCEPTION}, "Build errored."),
        ({"complete": True, "results": CANCELLED}, "Build cancelled."),
    ],
)
def test_descriptions(build: dict[str, Any], text: str) -> None:
    assert statuses.describe(build) == text
    assert len(text) <= 140  # GitHub's limit for a status description


def test_failing_builders_must_be_builders_of_the_project() -> None:
    project = {**GOOD["projects"][0], "failing_builders": ["nope"]}
    with pytest.raises(SettingsError) as error:
        validate({**GOOD, "projects": [project]})
    assert str(error.value) == (
        'config: projects[0]: failing_builders: "nope" is not one of this project\'s builders'
    )
