"""When builds start: a tree-stable scheduler on pushes and a force scheduler, per project."""

from __future__ import annotations

from buildbot.plugins import schedulers, util
from buildbot.schedulers.base import BaseScheduler

from config.settings import Project, Settings


def on_push(project: Project, tree_stable_timer: float) -> BaseScheduler:
    """Builds every branch of the project once its pushes have settled for the timer."""
    return schedulers.AnyBranchScheduler(
        name=f"{project.name}-push",
        change_filter=util.ChangeFilter(project=project.name),
        treeStableTimer=tree_stable_timer or None,
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
        found += [on_push(project, settings.tree_stable_timer), forced(project)]
    return found
