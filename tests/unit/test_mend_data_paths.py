"""The data API's path table is built once, and again only when a path is added."""

from __future__ import annotations

from buildbot.util import pathmatch

from mends import data_paths


def test_lookups_build_the_table_once_until_a_path_is_added() -> None:
    data_paths.install()
    data_paths.install()  # as at a reconfig: no second layer
    matcher = pathmatch.Matcher()
    matcher[("builds", "n:buildid")] = "build"

    assert matcher[("builds", "7")] == ("build", {"buildid": 7})
    table = matcher._by_length
    assert matcher[("builds", "8")] == ("build", {"buildid": 8})
    assert matcher._by_length is table

    matcher[("builds", "n:buildid", "steps")] = "steps"
    assert matcher[("builds", "7", "steps")] == ("steps", {"buildid": 7})
    assert matcher._by_length is not table
    assert matcher[("builds", "7")] == ("build", {"buildid": 7})
