"""Builders made from the project recipes in the settings.

A recipe is data: an ordered list of steps of a few kinds, each mapped here onto the
Buildbot step class that shows its results best in the UI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from buildbot.plugins import steps, util
from buildbot.process.buildstep import BuildStep

from config import workers
from config.settings import Builder, LintStep, Project, RunStep, Settings, TestStep


def _common(step: RunStep) -> dict[str, Any]:
    """The arguments every recipe step kind shares."""
    options: dict[str, Any] = {
        "command": step.command,
        "env": step.env,
        "timeout": step.timeout,
        "haltOnFailure": step.halt_on_failure,
        "flunkOnFailure": True,
    }
    if step.name:
        options["name"] = step.name
    if step.workdir:
        options["workdir"] = step.workdir
    return options


def run_step(step: RunStep) -> BuildStep:
    return steps.ShellCommand(**_common(step))


def test_step(step: TestStep) -> BuildStep:
    return steps.ShellCommand(**{"name": "test", **_common(step)})


def lint_step(step: LintStep) -> BuildStep:
    return steps.WarningCountingShellCommand(**{"name": "lint", **_common(step)})


RECIPE_STEPS: dict[str, Callable[[Any], BuildStep]] = {
    "run": run_step,
    "test": test_step,
    "lint": lint_step,
}


def checkout(project: Project) -> BuildStep:
    """The pushed commit, in a tree kept between builds so a warm worker fetches only news."""
    return steps.Git(
        name="checkout",
        repourl=project.repository,
        mode="full",
        method="fresh",
        haltOnFailure=True,
    )


def factory(project: Project, builder: Builder) -> util.BuildFactory:
    recipe = [RECIPE_STEPS[step.kind](step) for step in builder.steps]
    return util.BuildFactory([checkout(project), *recipe])


def projects(settings: Settings) -> list[util.Project]:
    """Buildbot projects, grouping each project's builders in the UI."""
    return [util.Project(name=p.name, description=p.repository) for p in settings.projects]


def build(settings: Settings) -> list[util.BuilderConfig]:
    """One BuilderConfig per recipe, each able to run on every worker."""
    names = workers.worker_names(settings)
    return [
        util.BuilderConfig(
            name=builder.name,
            workernames=names,
            factory=factory(project, builder),
            project=project.name,
        )
        for project in settings.projects
        for builder in project.builders
    ]
