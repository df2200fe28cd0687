"""The data API's path table, grouped once: the same endpoint and arguments as upstream's
for every path, and the canary for upstream's grouping at every lookup."""

from __future__ import annotations

from typing import Any

import pytest
from buildbot.data import connector
from buildbot.util.pathmatch import Matcher

from mends import data_paths
from tests.stock import stock

PATHS = [
    (),
    ("builds",),
    ("builds", "7"),
    ("builds", "7", "steps"),
    ("builds", "7", "steps", "2", "logs", "stdio"),
    ("builders", "3", "builds", "12"),
    ("builders", "runtests", "builds", "12"),  # a name where an id may stand
    ("builders", "-3", "builds", "x"),  # a build number that is not one
    ("workers", "local-0"),
    ("changes", "5", "properties"),
    ("buildsets", "9", "properties"),
    ("no", "such", "path"),
    ("builds", "7", "nothing"),
]


def _lookup(matcher: Matcher, path: tuple[str, ...]) -> Any:
    try:
        return matcher[path]
    except KeyError as error:
        return KeyError(str(error))


def _matcher() -> Matcher:
    """The data API's own table, every endpoint Buildbot 4.3 has."""
    data = connector.DataConnector()
    data._setup()
    return data.matcher


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    data_paths.install()


def test_every_path_finds_what_upstream_finds() -> None:
    matcher = _matcher()
    mended = [repr(_lookup(matcher, path)) for path in PATHS]
    with stock(Matcher, "__getitem__"):
        assert [repr(_lookup(matcher, path)) for path in PATHS] == mended
    assert "{'buildid': 7}" in mended[3] and "{'builderid': 3, 'build_number': 12}" in mended[5]
    assert "'buildername': 'runtests'" in mended[6] and "KeyError" in mended[7]


def test_the_table_is_parsed_once_and_again_after_an_addition() -> None:
    matcher = _matcher()
    matcher[("builds", "1")]
    parsed = vars(matcher)[data_paths.PARSED]
    matcher[("builds", "2")]
    assert vars(matcher)[data_paths.PARSED] is parsed

    matcher[("extra", "n:extraid")] = "extra endpoint"
    assert matcher[("extra", "4")] == ("extra endpoint", {"extraid": 4})
    assert vars(matcher)[data_paths.PARSED] is not parsed


def test_an_unknown_type_flag_fails_the_lookup_as_upstream() -> None:
    matcher = Matcher()
    matcher[("things", "q:thingid")] = "things"
    with pytest.raises(AssertionError, match="no such type flag q"):
        matcher[("things", "4")]


def test_upstream_groups_the_data_paths_at_every_lookup() -> None:
    # The canary: once upstream keeps its grouped table, the mend can go.
    matcher = _matcher()
    with stock(Matcher, "__getitem__"):
        matcher[("builds", "1")]
        grouped = matcher._by_length
        matcher[("builds", "2")]
        assert matcher._dirty and matcher._by_length is not grouped
