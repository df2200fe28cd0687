"""Our reporters answer an empty blamelist without reading the database."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.github.test_statuses import GITHUB, ZULIP, made

APP = {"app": {"app_id": 1, "private_key": "-----BEGIN PRIVATE KEY-----"}, "webhook_secret": "s"}


@pytest.mark.parametrize(
    ("sections", "kinds"),
    [
        ({"github": GITHUB, "zulip": ZULIP}, {"CommitStatusPush", "ZulipStream"}),
        ({"github": APP}, {"CheckRunPush"}),
    ],
)
def test_every_reporter_names_no_one_without_asking_the_master(
    sections: dict[str, Any], kinds: set[str]
) -> None:
    reporters = made(**sections)
    assert {type(r).__name__ for r in reporters} == kinds
    for reporter in reporters:
        answers: list[Any] = []
        # Buildbot's default would read the build's changes through this (absent) master.
        reporter.getResponsibleUsersForBuild(None, 1).addCallback(answers.append)
        assert answers == [[]], type(reporter).__name__
