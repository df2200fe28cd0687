"""Collapsing waiting requests: Buildbot's rule, each buildset's sources read once.

The database here is a dict behind the one data API call the collapser makes; the load
suite (``tests/integration/test_load.py``) runs it on a real master, where pushes to one
branch collapse and pushes to others never do.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from buildbot.process.buildrequest import BuildRequest
from twisted.internet import defer

from config.builds.collapse import Collapser


def request(requestid: int, buildsetid: int) -> dict[str, Any]:
    return {"buildrequestid": requestid, "buildsetid": buildsetid}


class Data:
    """Buildsets by id, each on one branch, answering ``data.get`` and counting reads."""

    def __init__(self, branches: dict[int, str]) -> None:
        self.branches = branches
        self.reads: list[int] = []

    def get(self, path: tuple[str, str]) -> defer.Deferred[dict[str, Any]]:
        assert path[0] == "buildsets"
        buildsetid = int(path[1])
        self.reads.append(buildsetid)
        stamp = {"codebase": "", "repository": "r", "project": "p"}
        return defer.succeed({"sourcestamps": [{**stamp, "branch": self.branches[buildsetid]}]})


def collapses(collapser: Collapser, data: Data, new: dict[str, Any], old: dict[str, Any]) -> Any:
    found = collapser(SimpleNamespace(data=data), None, new, old)
    return found.result if isinstance(found, defer.Deferred) else found


def test_requests_on_other_branches_never_collapse_and_each_buildset_is_read_once() -> None:
    data = Data({n: f"branch-{n}" for n in range(1, 21)})
    collapser = Collapser()

    for new in range(2, 21):
        for old in range(1, new):
            assert collapses(collapser, data, request(new, new), request(old, old)) is False

    assert sorted(data.reads) == list(range(1, 21))


def test_older_request_and_same_buildset_need_no_read() -> None:
    data = Data({1: "a", 2: "a"})
    collapser = Collapser()

    assert collapses(collapser, data, request(1, 1), request(2, 2)) is False
    assert collapses(collapser, data, request(3, 1), request(2, 1)) is True
    assert data.reads == []


def test_same_branch_goes_on_to_buildbots_own_check(monkeypatch: pytest.MonkeyPatch) -> None:
    data = Data({1: "a", 2: "a"})
    asked = []

    def upstream(master: Any, new: dict[str, Any], old: dict[str, Any]) -> Any:
        asked.append((new["buildrequestid"], old["buildrequestid"]))
        return defer.succeed(True)

    monkeypatch.setattr(BuildRequest, "canBeCollapsed", upstream)

    assert collapses(Collapser(), data, request(2, 2), request(1, 1)) is True
    assert asked == [(2, 1)]
