"""What the master built before: whether a commit of a branch has a build, or one on its way."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.data import resultspec
from twisted.internet import defer


@defer.inlineCallbacks
def built(master: Any, project: str, branch: str, sha: str) -> Generator[Any, Any, bool]:
    """Whether ``sha`` on ``branch`` of ``project`` was built, or a buildset of it waits or
    runs, as Buildbot's data API knows it.

    A change of that commit still in the tree-stable timer has no buildset yet: another
    change of the same branch joins its build rather than making a second one.
    """
    same = [
        resultspec.Filter("revision", "eq", [sha]),
        resultspec.Filter("project", "eq", [project]),
        resultspec.Filter("branch", "eq", [branch]),
    ]
    for change in (yield master.data.get(("changes",), filters=same)):
        if (yield master.data.get(("changes", change["changeid"], "builds"))):
            return True
    unfinished = yield master.data.get(
        ("buildsets",), filters=[resultspec.Filter("complete", "eq", [False])]
    )
    return any(
        (ss["project"], ss["branch"], ss["revision"]) == (project, branch, sha)
        for buildset in unfinished
        for ss in buildset["sourcestamps"]
    )
