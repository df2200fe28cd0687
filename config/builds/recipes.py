"""Recipe steps as Buildbot steps: each kind of step a recipe may hold, mapped onto the
Buildbot step class that shows its results best in the UI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from buildbot.plugins import steps
from buildbot.process.buildstep import BuildStep

from config.builds import uploads
from config.builds.counts import Pytest
from config.builds.limits import MB, Bounded
from config.builds.result_steps import ReportedTests, StoredLint
from config.settings import (
    Builder,
    CommandOptions,
    DocsStep,
    Limits,
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


class Run(Bounded, steps.ShellCommand):
    """Buildbot's ShellCommand, bounded (:mod:`config.builds.limits`)."""


class Trial(Bounded, steps.Trial):
    """Buildbot's Trial, bounded."""


class Sphinx(Bounded, steps.Sphinx):
    """Buildbot's Sphinx, bounded."""


def _command_options(step: CommandOptions, limits: Limits) -> dict[str, Any]:
    return {
        **_options(step),
        "env": step.env,
        "timeout": step.timeout,
        "log_limit": int(limits.log_mb * MB),
        "time_limit": limits.build_minutes * 60,
    }


def run_step(step: RunStep, limits: Limits) -> BuildStep:
    return Run(command=step.command, **_command_options(step, limits))


def test_step(step: TestStep, limits: Limits) -> BuildStep:
    options = {"name": "test", **_command_options(step, limits)}
    if step.runner == "trial":
        # Trial puts its reporter option after the program, then the rest.
        program, *arguments = step.command
        return Trial(trial=program, tests=arguments, testpath=None, **options)
    if step.junit:
        return ReportedTests(
            command=step.command,
            reports=step.junit,
            rerun=step.rerun,
            reports_limit=int(limits.reports_mb * MB),
            **options,
        )
    return Pytest(command=step.command, **options)


def lint_step(step: LintStep, limits: Limits) -> BuildStep:
    return StoredLint(
        command=step.command,
        warningPattern=step.warning_pattern,
        **{"name": "lint", **_command_options(step, limits)},
    )


def docs_step(step: DocsStep, limits: Limits) -> BuildStep:
    return Sphinx(
        sphinx=step.sphinx,
        sphinx_sourcedir=step.sourcedir,
        sphinx_builddir=step.builddir,
        sphinx_builder=step.builder,
        strict_warnings=step.strict,
        **{"name": "docs", **_command_options(step, limits)},
    )


def upload_step(step: UploadStep, limits: Limits) -> list[BuildStep]:
    """The directory goes to the build's results directory, then is published."""
    name = step.name or "upload"
    upload = uploads.BoundedUpload(
        budget=int(limits.upload_mb * MB),
        workersrc=step.source,
        masterdest=uploads.destination(name),
        url=uploads.address(step.url, name),
        urlText=name,
        **{"name": name, **_options(step)},
    )
    return [upload, uploads.Publish(name)]


RECIPE_STEPS: dict[str, Callable[[Any, Limits], BuildStep | list[BuildStep]]] = {
    "run": run_step,
    "test": test_step,
    "lint": lint_step,
    "docs": docs_step,
    "upload": upload_step,
}


def recipe(builder: Builder, limits: Limits) -> list[BuildStep]:
    """The Buildbot steps of ``builder``'s recipe, in order."""
    made: list[BuildStep] = []
    for step in builder.steps:
        steps_of_kind = RECIPE_STEPS[step.kind](step, limits)
        made += steps_of_kind if isinstance(steps_of_kind, list) else [steps_of_kind]
    return made
