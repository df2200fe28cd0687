"""Recipe steps as Buildbot steps: each kind of step a recipe may hold, mapped onto the
Buildbot step class that shows its results best in the UI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from buildbot.plugins import steps
from buildbot.process.buildstep import BuildStep

from config.builds import uploads
from config.builds.counts import Lint, Pytest
from config.settings import (
    Builder,
    CommandOptions,
    DocsStep,
    LintStep,
    RunStep,
    StepOptions,
    TestStep,
    UploadStep,
)


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
        masterdest=uploads.destination(name),
        url=uploads.address(step.url, name),
        urlText=name,
        **{"name": name, **_options(step)},
    )
    return [upload, uploads.Publish(name)]


RECIPE_STEPS: dict[str, Callable[[Any], BuildStep | list[BuildStep]]] = {
    "run": run_step,
    "test": test_step,
    "lint": lint_step,
    "docs": docs_step,
    "upload": upload_step,
}


def recipe(builder: Builder) -> list[BuildStep]:
    """The Buildbot steps of ``builder``'s recipe, in order."""
    made: list[BuildStep] = []
    for step in builder.steps:
        steps_of_kind = RECIPE_STEPS[step.kind](step)
        made += steps_of_kind if isinstance(steps_of_kind, list) else [steps_of_kind]
    return made
