"""When builds start: a tree-stable scheduler on pushes and a force scheduler, per project.

Pull requests have schedulers of their own (:mod:`config.github.approval`).
"""

from __future__ import annotations

from typing import Any

from buildbot.plugins import schedulers, util
from buildbot.schedulers.base import BaseScheduler

from config.builds.branches import is_main_or_release
from config.builds.changes import APPROVED, PULL_REQUEST
from config.settings import Project, Settings


def push_filter(project: Project, branches: str) -> util.ChangeFilter:
    """The project's pushes that build: to every branch, or (``main_and_release``) to the
    main and release ones, the original's answer to long queues, and to the branches of
    open pull requests."""

    def builds(change: Any) -> bool:
        return (
            branches == "all"
            or is_main_or_release(change.branch, project)
            or change.properties.getProperty("pull_request") is not None
        )

    return util.ChangeFilter(
        project=project.name,
        category_not_eq=[PULL_REQUEST, APPROVED],
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
        builderNames=[b.name for b in project.on_changes()],
    )


def forced(project: Project) -> BaseScheduler:
    """A build of any branch on request, with a reason."""
    return schedulers.ForceScheduler(
        name=f"{project.name}-force",
        buttonName="Force build",
        label=f"Build a branch of {project.name}",
        builderNames=[b.name for b in project.on_changes()],
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


def build(settings: Settings) -> list[BaseScheduler]:
    """Every project's schedulers of pushes and of forced builds."""
    found: list[BaseScheduler] = []
    for project in settings.projects:
        found += [on_push(project, settings), forced(project)]
    return found
