"""The data API's path table is built once, and again only when a path is added."""

from __future__ import annotations

from typing import Any

import pytest
from buildbot.util import pathmatch

from config import data_paths


def test_lookups_build_the_table_once_until_a_path_is_added(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data_paths.install()
    builds: list[int] = []
    upstream = data_paths._build_table

    def counted(matcher: Any) -> None:
        builds.append(1)
        upstream(matcher)

    monkeypatch.setattr(data_paths, "_build_table", counted)
    matcher = pathmatch.Matcher()
    matcher[("builds", "n:buildid")] = "build"

    assert matcher[("builds", "7")] == ("build", {"buildid": 7})
    assert matcher[("builds", "8")] == ("build", {"buildid": 8})
    assert len(builds) == 1

    matcher[("builds", "n:buildid", "steps")] = "steps"
    assert matcher[("builds", "7", "steps")] == ("steps", {"buildid": 7})
    assert matcher[("builds", "7")] == ("build", {"buildid": 7})
    assert len(builds) == 2
