"""Builders made from the project recipes in the settings.

A recipe is data: an ordered list of steps of a few kinds, each mapped here onto the
Buildbot step class that shows its results best in the UI. Every build first checks out
the pushed commit and runs MergeForward, so recipes test the push merged into its base.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from buildbot.locks import WorkerLock
from buildbot.plugins import steps, util
from buildbot.process.buildstep import BuildStep

from config import github_app, results, workers
from config.settings import (
    Builder,
    CommandOptions,
    DocsStep,
    LintStep,
    Project,
    RunStep,
    Settings,
    StepOptions,
    TestStep,
    UploadStep,
)
from config.steps import Checkout, InstanceProperties, Lint, MergeForward, Pytest


def _options(step: StepOptions) -> dict[str, Any]:
    """The arguments every recipe step kind shares."""
    options: dict[str, Any] = {"haltOnFailure": step.halt_on_failure, "flunkOnFailure": True}
    if step.name:
        options["name"] = step.name
    if step.workdir:
        options["workdir"] = step.workdir
    return options


def _command_options(step: CommandOptions) -> dict[str, Any]:
    return {**_options(step), "env": step.env, "timeout": step.timeout}


def run_step(step: RunStep) -> BuildStep:
    return steps.ShellCommand(command=step.command, **_command_options(step))


def test_step(step: TestStep) -> BuildStep:
    options = {"name": "test", **_command_options(step)}
    if step.runner == "trial":
        # Trial puts its reporter option after the program, then the rest.
        program, *arguments = step.command
        return steps.Trial(trial=program, tests=arguments, testpath=None, **options)
    return Pytest(command=step.command, **options)


def lint_step(step: LintStep) -> BuildStep:
    return Lint(
        command=step.command,
        warningPattern=step.warning_pattern,
        **{"name": "lint", **_command_options(step)},
    )


def docs_step(step: DocsStep) -> BuildStep:
    return steps.Sphinx(
        sphinx=step.sphinx,
        sphinx_sourcedir=step.sourcedir,
        sphinx_builddir=step.builddir,
        sphinx_builder=step.builder,
        strict_warnings=step.strict,
        **{"name": "docs", **_command_options(step)},
    )


def upload_step(step: UploadStep) -> list[BuildStep]:
    """The directory goes to the build's results directory, then is published."""
    name = step.name or "upload"
    upload = steps.DirectoryUpload(
        workersrc=step.source,
        masterdest=results.destination(name),
        url=results.address(step.url, name),
        urlText=name,
        **{"name": name, **_options(step)},
    )
    return [upload, results.Publish(name)]


RECIPE_STEPS: dict[str, Callable[[Any], BuildStep | list[BuildStep]]] = {
    "run": run_step,
    "test": test_step,
    "lint": lint_step,
    "docs": docs_step,
    "upload": upload_step,
}


def factory(
    project: Project,
    builder: Builder,
    settings: Settings,
) -> util.BuildFactory:
    """Checkout (the pushed commit, in a tree kept between builds so a warm worker fetches
    only news), MergeForward, the recipe; first the instance's properties when the builder
    may run on EC2 workers. Only the checkout and the merge get GitHub's credentials."""
    recipe: list[BuildStep] = []
    for step in builder.steps:
        made = RECIPE_STEPS[step.kind](step)
        recipe += made if isinstance(made, list) else [made]
    on_ec2 = any(pool.kind == "ec2" for pool in settings.pools_of(builder))
    machine: list[BuildStep] = [InstanceProperties()] if on_ec2 else []
    fetching = github_app.checkout_env(settings.github, project.repository)
    return util.BuildFactory(
        [
            *machine,
            Checkout(name="checkout", repourl=project.repository, haltOnFailure=True, env=fetching),
            MergeForward(project, settings.bot, env=fetching),
            *recipe,
        ]
    )


def locks(builder: Builder) -> list[Any]:
    """A named worker lock taken exclusively: builders sharing it never share a worker."""
    if builder.lock is None:
        return []
    return [WorkerLock(builder.lock, maxCount=1).access("exclusive")]


def expected_failure(project: Project, builder: Builder) -> dict[str, Any]:
    """A builder of ``failing_builders``: tagged so the UI lists it apart, and its builds
    carry the ``expected_failure`` property the reporters read."""
    if builder.name not in project.failing_builders:
        return {}
    return {"tags": ["expected-failure"], "properties": {"expected_failure": True}}


def projects(settings: Settings) -> list[util.Project]:
    """Buildbot projects, grouping each project's builders in the UI."""
    return [util.Project(name=p.name, description=p.repository) for p in settings.projects]


def build(settings: Settings) -> list[util.BuilderConfig]:
    """One BuilderConfig per recipe, on the workers of its pools."""
    return [
        util.BuilderConfig(
            name=builder.name,
            workernames=workers.names(settings.pools_of(builder)),
            factory=factory(project, builder, settings),
            project=project.name,
            locks=locks(builder),
            **expected_failure(project, builder),
        )
        for project in settings.projects
        for builder in project.builders
    ]
