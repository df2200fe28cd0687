"""The schedulers of pull requests: those their deliveries let build, and those an admin
approves in the web UI (:mod:`config.github.pull_requests` decides which is which)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.plugins import schedulers, util
from buildbot.schedulers.base import BaseScheduler
from buildbot.schedulers.forcesched import CollectedValidationError
from twisted.internet import defer
from twisted.python import log

from config.builds.changes import APPROVED, PULL_REQUEST
from config.github.pull_requests import PullRequestRecords, approve
from config.settings import Project, Settings


def on_pull_request(project: Project, settings: Settings) -> BaseScheduler:
    """Builds the pull requests :mod:`config.github.pull_requests` lets build, as pushes build."""
    return schedulers.AnyBranchScheduler(
        name=f"{project.name}-pull-requests",
        change_filter=util.ChangeFilter(project=project.name, category=PULL_REQUEST),
        treeStableTimer=settings.tree_stable_timer or None,
        builderNames=[b.name for b in project.builders],
    )


class Approve(schedulers.ForceScheduler):
    """The web UI's "Approve" form: an admin lets a waiting pull request's head commit
    build. Forcing is for admins only (:mod:`config.web.auth`), so anyone else gets 403.

    The approved commit becomes a change as its delivery's would have (so a newer one
    supersedes its build), of category ``approved`` so the pull request scheduler leaves
    it to this one, which builds it at once: the UI follows the new build request.
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        fixed = {"default": ""}
        super().__init__(
            name=f"{project.name}-approve",
            buttonName="Approve",
            label=f"Approve a pull request of {project.name} to build",
            builderNames=[b.name for b in project.builders],
            reason=util.FixedParameter(name="reason", default="approved"),
            codebases=[
                util.CodebaseParameter(
                    "",
                    **{
                        field: util.FixedParameter(name=field, **fixed)
                        for field in ("branch", "revision", "repository", "project")
                    },
                )
            ],
            properties=[
                util.IntParameter(name="pull_request", label="Pull request number", required=True)
            ],
        )

    @defer.inlineCallbacks
    def force(self, owner: str, **kwargs: Any) -> Generator[Any, Any, tuple[int, dict[int, int]]]:
        given = kwargs.get("pull_request")
        try:
            number = int(given[0] if isinstance(given, list) else given)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise CollectedValidationError({"pull_request": "a pull request number"}) from None
        change = yield approve(PullRequestRecords(self.master), self.project.name, number)
        if change is None:
            raise CollectedValidationError(
                {"pull_request": f"pull request #{number} does not wait for approval"}
            )
        change["properties"]["approved_by"] = owner
        changeid = yield self.master.data.updates.addChange(
            src="git", **{**change, "category": APPROVED}
        )
        log.msg(f"{owner} approved pull request #{number} of {self.project.name}")
        buildset: tuple[int, dict[int, int]] = yield self.addBuildsetForChanges(
            reason=f"pull request #{number} approved by {owner}",
            changeids=[changeid],
            builderNames=self.builderNames,
        )
        return buildset


def build(settings: Settings) -> list[BaseScheduler]:
    """With webhooks: each project's pull request and approval schedulers."""
    if settings.changes.kind != "github":
        return []
    found: list[BaseScheduler] = []
    for project in settings.projects:
        found += [on_pull_request(project, settings), Approve(project)]
    return found
