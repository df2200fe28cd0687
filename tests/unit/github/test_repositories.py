"""A repository's owner and name, whichever way its address is written."""

from __future__ import annotations

import pytest

from config.github.repositories import owner_and_name, repository_key


@pytest.mark.parametrize(
    ("repository", "slug"),
    [
        ("https://github.com/ClusterHQ/flocker", ("ClusterHQ", "flocker")),
        ("https://github.com/ClusterHQ/flocker.git", ("ClusterHQ", "flocker")),
        ("git@github.com:ClusterHQ/flocker.git", ("ClusterHQ", "flocker")),
        ("ssh://git@ghe.example.com:2222/team/tool/", ("team", "tool")),
        ("/srv/mirrors/ClusterHQ/flocker.git", ("ClusterHQ", "flocker")),
        ("/flocker.git", None),
        ("flocker", None),
        ("", None),
    ],
)
def test_owner_and_name(repository: str, slug: tuple[str, str] | None) -> None:
    assert owner_and_name(repository) == slug


def test_repository_key_ignores_case_and_form() -> None:
    forms = [
        "https://github.com/ClusterHQ/Flocker.git",
        "git@github.com:clusterhq/flocker",
        "ClusterHQ/flocker",
    ]
    assert {repository_key(form) for form in forms} == {"clusterhq/flocker"}
    assert repository_key("flocker") == ""
