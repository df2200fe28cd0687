"""Superseded builds: a newer commit on a branch or pull request cancels its older builds.

Buildbot's own ``OldBuildCanceller`` does the cancelling, builder by builder, for waiting
and running builds alike. The branches a project keeps every result of (``never_cancel``:
by default ``merge_into`` and the release branches), version tags and GitHub's
merge-queue branches are left alone. :func:`superseding` finds, for a cancelled build,
the commit that superseded it, which its GitHub status names.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from buildbot.data import resultspec
from buildbot.plugins import util
from buildbot.schedulers.canceller import OldBuildCanceller
from buildbot.util.service import BuildbotService
from twisted.internet import defer

from config.builds.branches import never_cancelled
from config.settings import Project, Settings


def cancellable(project: Project) -> Callable[[dict[str, Any]], bool]:
    """Whether a newer commit may cancel builds of a source stamp's branch."""

    def may_cancel(sourcestamp: dict[str, Any]) -> bool:
        return not never_cancelled(sourcestamp.get("branch") or "", project)

    return may_cancel


def build(settings: Settings) -> list[BuildbotService]:
    """The canceller, when ``changes.cancel_superseded`` is on."""
    if not settings.changes.cancel_superseded:
        return []
    filters = [
        (
            [b.name for b in project.builders],
            util.SourceStampFilter(project_eq=project.name, filter_fn=cancellable(project)),
        )
        for project in settings.projects
    ]
    return [OldBuildCanceller("cancel-superseded", filters)]


@defer.inlineCallbacks
def superseding(
    master: Any, build: dict[str, Any], sourcestamp: dict[str, Any]
) -> Generator[Any, Any, str | None]:
    """For a cancelled build: the commit whose newer build superseded it, or None when it
    was cancelled otherwise (by hand, by a closed pull request).

    That is the newest change on its branch when that change is of another commit. A
    change of the same commit (a pull request opened for a pushed branch) superseded it
    only when a newer build request of its builder builds the same source stamp.
    """
    if not sourcestamp.get("revision"):
        return None
    newest = yield master.data.get(
        ("changes",),
        filters=[
            resultspec.Filter("project", "eq", [sourcestamp["project"]]),
            resultspec.Filter("branch", "eq", [sourcestamp["branch"]]),
        ],
        order=("-changeid",),
        limit=1,
    )
    if not newest:
        return None
    revision = str(newest[0]["revision"])
    if revision != sourcestamp["revision"]:
        return revision
    request = build.get("buildrequest") or build
    newer = yield master.data.get(
        ("builders", build["builderid"], "buildrequests"),
        filters=[resultspec.Filter("buildrequestid", "gt", [request["buildrequestid"]])],
    )
    for found in newer:
        buildset = yield master.data.get(("buildsets", found["buildsetid"]))
        if any(ss["ssid"] == sourcestamp["ssid"] for ss in buildset["sourcestamps"]):
            return revision
    return None
