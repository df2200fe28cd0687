"""Which pushes build: the push scheduler's filter per ``changes.branches``, and the timer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from buildbot.process.properties import Properties

from config.builds import schedulers
from config.settings import validate
from tests.unit.settings.test_settings import changed


def builds(
    branches: str,
    branch: str,
    project: str = "flocker",
    category: str | None = None,
    **properties: object,
) -> bool:
    """Whether a push of ``branch`` to ``project`` builds with ``changes.branches``."""
    settings = validate(changed("changes.branches", branches))
    props = Properties()
    for name, value in properties.items():
        props.setProperty(name, value, "Change")
    change = SimpleNamespace(
        project=project,
        branch=branch,
        codebase="",
        repository="",
        category=category,
        properties=props,
    )
    return bool(schedulers.push_filter(settings.projects[0], branches).filter_change(change))


@pytest.mark.parametrize(
    ("branch", "wanted"),
    [
        ("master", True),
        ("release/1.2", True),
        ("1.2.3", True),
        ("1.2.3rc1", True),
        ("feature", False),
        ("release-maintenance/1.2/fix", False),
        ("masterful", False),
    ],
)
def test_main_and_release_builds_only_those_on_push(branch: str, wanted: bool) -> None:
    assert builds("main_and_release", branch) is wanted
    assert builds("all", branch)


def test_pushes_to_a_pull_request_branch_build_whatever_the_branches() -> None:
    assert builds("main_and_release", "feature", pull_request=7)


def test_pull_request_changes_are_not_pushes() -> None:
    """Their own scheduler builds them; the push one would build them twice."""
    assert not builds("all", "refs/pull/7/head", category="pull", pull_request=7)
    assert not builds("all", "refs/pull/7/head", category="approved", pull_request=7)


def test_changes_of_other_projects_do_not_build() -> None:
    assert not builds("all", "master", project="other")
