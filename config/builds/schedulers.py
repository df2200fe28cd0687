"""When builds start: a tree-stable scheduler on pushes and a force scheduler, per project.

Pull requests have schedulers of their own (:mod:`config.github.approval`).
"""

from __future__ import annotations

from typing import Any

from buildbot.plugins import schedulers, util
from buildbot.schedulers.base import BaseScheduler

from config.builds.branches import is_main_or_release, on_branches
from config.builds.changes import APPROVED, PULL_REQUEST
from config.settings import Project, Settings


def push_filter(
    project: Project, branches: str, rules: list[str] | None = None
) -> util.ChangeFilter:
    """The project's pushes that build: to every branch, or (``main_and_release``) to the
    main and release ones, the original's answer to long queues, and to the branches of
    open pull requests; of those, the ones a builder's ``branches`` (``rules``) take."""

    def builds(change: Any) -> bool:
        pull_request = change.properties.getProperty("pull_request") is not None
        return (
            branches == "all" or is_main_or_release(change.branch, project) or pull_request
        ) and on_branches(
            rules,
            change.branch,
            project,
            is_tag=change.category == "tag",
            pull_request=pull_request,
        )

    return util.ChangeFilter(
        project=project.name,
        category_not_eq=[PULL_REQUEST, APPROVED],
        filter_fn=builds,
    )


def on_push(project: Project, settings: Settings) -> list[BaseScheduler]:
    """Builds pushed branches once their pushes have settled for the timer (a branch's
    timer forgets only what it built: ``mends/tree_stable.py``): one scheduler for the
    builders of every branch, ``<project>-push``, and one for each other ``branches``
    condition, named after its first builder.

    A forced build still builds any branch.
    """
    groups: dict[tuple[str, ...] | None, list[str]] = {}
    for builder in project.on_changes():
        rules = tuple(builder.branches) if builder.branches is not None else None
        groups.setdefault(rules, []).append(builder.name)
    return [
        schedulers.AnyBranchScheduler(
            name=f"{project.name}-push" + ("" if rules is None else f"-{names[0]}"),
            change_filter=push_filter(
                project, settings.changes.branches, None if rules is None else list(rules)
            ),
            treeStableTimer=settings.tree_stable_timer or None,
            builderNames=names,
        )
        for rules, names in groups.items()
    ]


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
        found += [*on_push(project, settings), forced(project)]
    return found
