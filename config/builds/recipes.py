"""Recipe steps as Buildbot steps: each kind of step a recipe may hold, mapped onto the
Buildbot step class that shows its results best in the UI."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from buildbot.plugins import steps, util
from buildbot.process.buildstep import BuildStep
from buildbot.process.results import FAILURE
from twisted.internet import defer

from config.builds import storage, uploads
from config.builds.conditions import step_condition
from config.builds.counts import Pytest
from config.builds.limits import MB, Bounded
from config.builds.pipelines import LockTable, taken
from config.builds.result_steps import ReportedTests, StoredLint
from config.settings import (
    Builder,
    CommandOptions,
    DocsStep,
    Limits,
    LintStep,
    Project,
    PropertyStep,
    PublishStep,
    RunStep,
    S3Place,
    StepOptions,
    TestStep,
    UploadStep,
)

PROPERTY = re.compile(r"%\(prop:")
LONE_PERCENT = re.compile(r"%(?!\(prop:)")


def with_properties(command: list[str]) -> list[Any]:
    """``command`` with each argument that names a property (``%(prop:version)s``)
    rendered by Buildbot's Interpolate; any other ``%`` stays as written."""
    return [
        util.Interpolate(LONE_PERCENT.sub("%%", arg)) if PROPERTY.search(arg) else arg
        for arg in command
    ]


def _options(step: StepOptions, locks: LockTable) -> dict[str, Any]:
    """The arguments every recipe step kind shares."""
    options: dict[str, Any] = {
        "haltOnFailure": step.halt_on_failure,
        "flunkOnFailure": True,
        "locks": taken(step.locks, locks),
    }
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


def _command_options(step: CommandOptions, limits: Limits, locks: LockTable) -> dict[str, Any]:
    return {
        **_options(step, locks),
        "env": step.env,
        "timeout": step.timeout,
        "log_limit": int(limits.log_mb * MB),
        "time_limit": limits.build_minutes * 60,
    }


class SetProperty(Bounded, steps.SetPropertyFromCommand):
    """Buildbot's SetPropertyFromCommand, bounded, refusing an output over
    :data:`PROPERTY_LIMIT` characters (a build's output is not trusted to be small)."""

    def __init__(self, property_name: str, **kwargs: Any) -> None:
        self.property_name = property_name
        self.too_long = False
        super().__init__(extract_fn=self._extract, **kwargs)

    def _extract(self, rc: int, stdout: str, stderr: str) -> dict[str, str]:
        value = stdout.strip()
        if len(value) > PROPERTY_LIMIT:
            self.too_long = True
            return {}
        return {self.property_name: value}

    @defer.inlineCallbacks
    def run(self) -> Any:
        result = yield super().run()
        return FAILURE if self.too_long else result

    def getResultSummary(self) -> dict[str, str]:
        if self.too_long:
            return {"step": f"{self.property_name}: output over {PROPERTY_LIMIT} characters"}
        summary: dict[str, str] = super().getResultSummary()
        return summary


PROPERTY_LIMIT = 1000


def run_step(step: RunStep, limits: Limits, locks: LockTable) -> BuildStep:
    return Run(command=with_properties(step.command), **_command_options(step, limits, locks))


def test_step(step: TestStep, limits: Limits, locks: LockTable) -> BuildStep:
    options = {"name": "test", **_command_options(step, limits, locks)}
    command = with_properties(step.command)
    if step.runner == "trial":
        # Trial puts its reporter option after the program, then the rest.
        program, *arguments = command
        return Trial(trial=program, tests=arguments, testpath=None, **options)
    if step.junit:
        return ReportedTests(
            command=command,
            reports=step.junit,
            rerun=step.rerun,
            reports_limit=int(limits.reports_mb * MB),
            **options,
        )
    return Pytest(command=command, **options)


def lint_step(step: LintStep, limits: Limits, locks: LockTable) -> BuildStep:
    return StoredLint(
        command=with_properties(step.command),
        warningPattern=step.warning_pattern,
        **{"name": "lint", **_command_options(step, limits, locks)},
    )


def property_step(step: PropertyStep, limits: Limits, locks: LockTable) -> BuildStep:
    return SetProperty(
        property_name=step.property,
        command=with_properties(step.command),
        **{"name": step.property, **_command_options(step, limits, locks)},
    )


def docs_step(step: DocsStep, limits: Limits, locks: LockTable) -> BuildStep:
    return Sphinx(
        sphinx=step.sphinx,
        sphinx_sourcedir=step.sourcedir,
        sphinx_builddir=step.builddir,
        sphinx_builder=step.builder,
        strict_warnings=step.strict,
        **{"name": "docs", **_command_options(step, limits, locks)},
    )


def _transfer(
    step: UploadStep | PublishStep,
    name: str,
    limits: Limits,
    locks: LockTable,
    masterdest: Any,
    kind: type[uploads.BoundedUpload] = uploads.BoundedUpload,
    **link: Any,
) -> BuildStep:
    """The bounded transfer of ``step.source`` to ``masterdest`` on the master."""
    return kind(
        budget=int(limits.upload_mb * MB),
        workersrc=step.source,
        masterdest=masterdest,
        **link,
        **{"name": name, **_options(step, locks)},
    )


def upload_step(
    step: UploadStep, limits: Limits, locks: LockTable, s3: storage.S3Access
) -> list[BuildStep]:
    """The directory goes to the build's results directory, then is published; or, with
    ``s3``, to the master's staging, then to S3."""
    name = step.name or "upload"
    if step.s3 is not None:
        return _to_s3(step, step.s3, name, limits, locks, access=s3, sync=False)
    where = uploads.destination(name)
    link = {"url": uploads.address(step.url, name), "urlText": name}
    return [_transfer(step, name, limits, locks, where, **link), uploads.Publish(name)]


def publish_step(
    step: PublishStep, limits: Limits, locks: LockTable, s3: storage.S3Access
) -> list[BuildStep]:
    """The directory goes to the master's staging, which syncs it to S3 (and ``stable``)."""
    name = step.name or "publish"
    return _to_s3(step, step.s3, name, limits, locks, access=s3, sync=True, stable=step.stable)


def _to_s3(
    step: UploadStep | PublishStep,
    place: S3Place,
    name: str,
    limits: Limits,
    locks: LockTable,
    **how: Any,
) -> list[BuildStep]:
    """The transfer of ``step.source`` to the master's staging, then its way to S3
    (:class:`config.builds.storage.ToS3` with ``how``)."""
    put = storage.ToS3(
        upload=name,
        place=place,
        name=f"{name} to S3",
        haltOnFailure=step.halt_on_failure,
        flunkOnFailure=True,
        **how,
    )
    staging = _transfer(step, name, limits, locks, storage.staged(name), storage.StagedUpload)
    return [staging, put]


RECIPE_STEPS: dict[str, Callable[[Any, Limits, LockTable], BuildStep | list[BuildStep]]] = {
    "run": run_step,
    "test": test_step,
    "lint": lint_step,
    "docs": docs_step,
    "property": property_step,
}


def recipe(
    project: Project,
    builder: Builder,
    limits: Limits,
    locks: LockTable,
    s3: storage.S3Access | None = None,
) -> list[BuildStep]:
    """The Buildbot steps of ``builder``'s recipe, in order; a step with ``branches`` is
    skipped on other branches, saying so. ``s3``: how the master reaches S3."""
    access = s3 or storage.S3Access()
    kinds: dict[str, Callable[[Any, Limits, LockTable], BuildStep | list[BuildStep]]] = {
        **RECIPE_STEPS,
        "upload": partial(upload_step, s3=access),
        "publish": partial(publish_step, s3=access),
    }
    made: list[BuildStep] = []
    for step in builder.steps:
        steps_of_kind = kinds[step.kind](step, limits, locks)
        these = steps_of_kind if isinstance(steps_of_kind, list) else [steps_of_kind]
        if step.branches is not None:
            for one in these:
                one.set_step_arg("doStepIf", step_condition(step.branches, project))
                one.set_step_arg("hideStepIf", False)
        made += these
    return made
