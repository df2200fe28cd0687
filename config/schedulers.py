"""When builds start: a tree-stable scheduler on pushes and a force scheduler, per project."""

from __future__ import annotations

from collections.abc import Callable

from buildbot.plugins import schedulers, util
from buildbot.schedulers.base import BaseScheduler

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
    """The project's changes that build on push: every branch, or (``main_and_release``)
    only the main and release ones, the original's answer to long queues."""
    wanted = main_or_release(project) if branches == "main_and_release" else None
    return util.ChangeFilter(project=project.name, branch_fn=wanted)


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


def build(settings: Settings) -> list[BaseScheduler]:
    """Both schedulers for every project."""
    found: list[BaseScheduler] = []
    for project in settings.projects:
        found += [on_push(project, settings), forced(project)]
    return found
