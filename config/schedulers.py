"""When builds start: a tree-stable scheduler on pushes and a force scheduler, per project."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from buildbot.plugins import schedulers, util
from buildbot.schedulers.base import BaseScheduler
from buildbot.schedulers.forcesched import CollectedValidationError
from twisted.internet import defer
from twisted.python import log

from config import pull_requests
from config.settings import Project, Settings
from config.steps import VERSION_TAG


def main_or_release(project: Project) -> Callable[[str | None], bool]:
    """Whether a pushed branch or tag is ``merge_into``, a release branch or a version tag."""

    def wanted(branch: str | None) -> bool:
        if not branch:
            return False
        return (
            branch == project.merge_into
            or branch.startswith(project.release_prefix)
            or VERSION_TAG.match(branch) is not None
        )

    return wanted


def push_filter(project: Project, branches: str) -> util.ChangeFilter:
    """The project's pushes that build: to every branch, or (``main_and_release``) to the
    main and release ones, the original's answer to long queues, and to the branches of
    open pull requests."""
    wanted = main_or_release(project)

    def builds(change: Any) -> bool:
        return (
            branches == "all"
            or wanted(change.branch)
            or change.properties.getProperty("pull_request") is not None
        )

    return util.ChangeFilter(
        project=project.name,
        category_not_eq=[pull_requests.CATEGORY, pull_requests.APPROVED],
        filter_fn=builds,
    )


def on_push(project: Project, settings: Settings) -> BaseScheduler:
    """Builds pushed branches once their pushes have settled for the timer (a branch's
    timer forgets only what it built: ``mends/tree_stable.py``).

    A forced build still builds any branch.
    """
    return schedulers.AnyBranchScheduler(
        name=f"{project.name}-push",
        change_filter=push_filter(project, settings.changes.branches),
        treeStableTimer=settings.tree_stable_timer or None,
        builderNames=[b.name for b in project.builders],
    )


def on_pull_request(project: Project, settings: Settings) -> BaseScheduler:
    """Builds the pull requests :mod:`config.pull_requests` lets build, as pushes build."""
    return schedulers.AnyBranchScheduler(
        name=f"{project.name}-pull-requests",
        change_filter=util.ChangeFilter(project=project.name, category=pull_requests.CATEGORY),
        treeStableTimer=settings.tree_stable_timer or None,
        builderNames=[b.name for b in project.builders],
    )


def forced(project: Project) -> BaseScheduler:
    """A build of any branch on request, with a reason."""
    return schedulers.ForceScheduler(
        name=f"{project.name}-force",
        buttonName="Force build",
        label=f"Build a branch of {project.name}",
        builderNames=[b.name for b in project.builders],
        reason=util.StringParameter(name="reason", label="Reason", default="", size=60),
        properties=[
            util.StringParameter(
                name="base",
                label="Merge into (for a pull request, refs/pull/N/head; empty: "
                f"{project.merge_into})",
                default="",
                size=30,
            ),
            util.BooleanParameter(
                name="report-expected-failures",
                label="Report failures of failing_builders to GitHub as failures",
                default=False,
            ),
        ],
        codebases=[
            util.CodebaseParameter(
                "",
                branch=util.StringParameter(
                    name="branch", label="Branch", default=project.merge_into, required=True
                ),
                revision=util.FixedParameter(name="revision", default=""),
                repository=util.FixedParameter(name="repository", default=project.repository),
                project=util.FixedParameter(name="project", default=project.name),
            )
        ],
    )


class Approve(schedulers.ForceScheduler):
    """The web UI's "Approve" form: an admin lets a waiting pull request's head commit
    build. Forcing is for admins only (``config.www``), so anyone else gets 403.

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
        change = yield pull_requests.approve(
            pull_requests.Ledger(self.master), self.project.name, number
        )
        if change is None:
            raise CollectedValidationError(
                {"pull_request": f"pull request #{number} does not wait for approval"}
            )
        change["properties"]["approved_by"] = owner
        changeid = yield self.master.data.updates.addChange(
            src="git", **{**change, "category": pull_requests.APPROVED}
        )
        log.msg(f"{owner} approved pull request #{number} of {self.project.name}")
        made: tuple[int, dict[int, int]] = yield self.addBuildsetForChanges(
            reason=f"pull request #{number} approved by {owner}",
            changeids=[changeid],
            builderNames=self.builderNames,
        )
        return made


def build(settings: Settings) -> list[BaseScheduler]:
    """Every project's schedulers: pushes, forced builds and, with webhooks, pull requests."""
    found: list[BaseScheduler] = []
    for project in settings.projects:
        found += [on_push(project, settings), forced(project)]
        if settings.changes.kind == "github":
            found += [on_pull_request(project, settings), Approve(project)]
    return found
