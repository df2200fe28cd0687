"""The ``projects`` section: each project's repository, branches and builders, and each
builder's recipe of steps."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from config.settings.matrices import expand
from config.settings.pipelines import TakenLock, check_triggers
from config.settings.storage import Prefix, S3Place
from config.settings.values import (
    Command,
    Name,
    PositiveNumber,
    Section,
    Text,
    require_unique,
    show,
)

Branches = Annotated[list[Text], Field(min_length=1)]
"""A ``branches`` condition: ``main``, ``release`` (release branches and version tags),
``pull_requests``, or glob patterns of branch names."""


class StepOptions(Section):
    """What every recipe step has: its name in the UI, where it runs, whether it halts."""

    name: Name | None = None
    workdir: Text | None = None
    halt_on_failure: bool = True
    # Locks (of the top-level ``locks``) the step holds while it runs.
    locks: list[TakenLock] = Field(default_factory=list)
    # Runs only on these (main, release, pull_requests, or globs); null: every branch.
    branches: Branches | None = None


class CommandOptions(StepOptions):
    """What every step that runs a command has."""

    env: dict[Annotated[str, Field(min_length=1)], str] = Field(default_factory=dict)
    timeout: PositiveNumber = 1200.0


class RunStep(CommandOptions):
    """A shell command; the step fails when the command does."""

    kind: Literal["run"]
    command: Command


def _report_pattern(value: str) -> str:
    """Report patterns stay inside the step's directory."""
    if value.startswith(("/", "\\", "~")) or ".." in value.replace("\\", "/").split("/"):
        raise PydanticCustomError(
            "report_pattern",
            "must be a pattern below the step's directory, got {got}",
            {"got": show(value)},
        )
    return value


class TestStep(RunStep):
    """Runs tests and shows their pass/fail counts.

    For ``trial`` the command is the trial program followed by its arguments. ``junit``:
    glob patterns of the JUnit XML reports the command writes, whose cases are stored and
    give the counts. ``rerun_failures: 1`` runs ``rerun_command`` once when cases failed
    (pytest's default: the command with ``--last-failed``); a case that passes then is
    flaky, and the step WARNINGS.
    """

    kind: Literal["test"]  # type: ignore[assignment]
    runner: Literal["pytest", "trial"] = "pytest"
    junit: list[Annotated[Text, AfterValidator(_report_pattern)]] = Field(default_factory=list)
    rerun_failures: Literal[0, 1] = 0
    rerun_command: Command | None = None

    @model_validator(mode="after")
    def _reports_for_pytest(self) -> TestStep:
        if self.runner == "trial" and (self.junit or self.rerun_failures):
            raise PydanticCustomError(
                "trial_reports", "junit and rerun_failures: not with runner trial", {}
            )
        if self.rerun_failures and not self.junit:
            raise PydanticCustomError(
                "rerun_needs_junit",
                "rerun_failures: needs junit, the reports that name the failed tests",
                {},
            )
        return self

    @property
    def rerun(self) -> list[str] | None:
        """The command that runs the failed tests again, if they are run again."""
        if not self.rerun_failures:
            return None
        default = [*self.command, "--last-failed", "--last-failed-no-failures", "none"]
        return self.rerun_command or default


class LintStep(RunStep):
    """Runs a linter and counts its warnings: output lines matching ``warning_pattern``."""

    kind: Literal["lint"]  # type: ignore[assignment]
    halt_on_failure: bool = False
    # ``path:line:`` is how flake8, ruff (concise), mypy and pylint (parseable) report.
    warning_pattern: Text = r"^\S+:\d+:"


class DocsStep(CommandOptions):
    """Builds Sphinx documentation and counts its warnings."""

    kind: Literal["docs"]
    sphinx: Command = Field(default_factory=lambda: ["sphinx-build"])
    sourcedir: Text = "docs"
    builddir: Text = "docs/_build/html"
    builder: Text = "html"
    strict: bool = False


class UploadStep(StepOptions):
    """Copies a directory of the worker's tree to the master and links it from the build.

    It lands in ``results/<project>/<branch>/<builder>-<number>/<name>`` below the
    master's directory, which the master serves at ``/results/``; ``url`` is where that
    ``results/`` directory is published instead, if elsewhere. With ``s3``, it goes to
    that bucket and prefix instead (:mod:`config.builds.storage`).
    """

    kind: Literal["upload"]
    source: Text
    url: Text | None = None
    s3: S3Place | None = None


class PublishStep(StepOptions):
    """Syncs a directory of the worker's tree to an S3 prefix, deleting the objects
    under it whose files are gone; ``stable`` (a prefix, e.g. ``docs/latest``) is then
    made a copy of it."""

    kind: Literal["publish"]
    source: Text
    s3: S3Place
    stable: Prefix | None = None


RESERVED_PROPERTIES = frozenset(
    [
        "branch",
        "revision",
        "repository",
        "project",
        "codebase",
        "got_revision",
        "buildername",
        "buildnumber",
        "workername",
        "builddir",
        "scheduler",
        "owner",
        "reason",
        "base",
        "untrusted",
        "pull_request",
        "pull_request_url",
        "merge_base",
        "lint_revision",
        "merged_revision",
        "merge_target_revision",
        "expected_failure",
        "pushed_tag",
        "pool",
        "build_started_at",
        "uploaded_bytes",
        "approved_by",
        "approved_revision",
        "failed_tests",
        "flaky_tests",
        "report-expected-failures",
    ]
)
"""Properties Buildbot or this master set, which a ``property`` step may not overwrite
(a build must not, say, make its triggered builds trusted)."""


def _not_reserved(name: str) -> str:
    if name in RESERVED_PROPERTIES:
        raise PydanticCustomError(
            "reserved", "{name} is a property the master sets itself", {"name": show(name)}
        )
    return name


class PropertyStep(CommandOptions):
    """Sets the build property ``property`` to a command's output (stripped), e.g. the
    version; later steps' commands use it as ``%(prop:<property>)s`` and the builders
    this one triggers get it."""

    kind: Literal["property"]
    property: Annotated[Name, AfterValidator(_not_reserved)]
    command: Command


Step = Annotated[
    RunStep | TestStep | LintStep | DocsStep | UploadStep | PropertyStep | PublishStep,
    Field(discriminator="kind"),
]
STEP_KINDS = ("run", "test", "lint", "docs", "upload", "property", "publish")


class Builder(Section):
    name: Name
    steps: Annotated[list[Step], Field(min_length=1)]
    # Builders naming the same lock never run at the same time on one worker.
    lock: Name | None = None
    # The worker pools (by name) whose workers may run its builds; null: every pool.
    pools: Annotated[list[Name], Field(min_length=1)] | None = None
    # Locks (of the top-level ``locks``) a build holds from its start to its end.
    locks: list[TakenLock] = Field(default_factory=list)
    # Builds only on these (main, release, pull_requests, or globs); null: every branch.
    branches: Branches | None = None
    # Builders of this project that run, for the same merged tree, once a build succeeds.
    then: list[Name] = Field(default_factory=list)
    # Whether a build waits for those it triggered (and takes their worst result).
    wait: bool = False
    # Runs only when another builder's ``then`` names it, never on pushes by itself.
    triggered: bool = False
    # Properties every build of it has; a matrix adds its axes.
    properties: dict[Annotated[Name, AfterValidator(_not_reserved)], Text] = Field(
        default_factory=dict
    )
    # Axes, each a list of values: one builder per combination (config/settings/matrices.py).
    matrix: (
        dict[
            Annotated[Name, AfterValidator(_not_reserved)],
            Annotated[list[Name], Field(min_length=1)],
        ]
        | None
    ) = None
    # The axis whose value names the pool each combination runs on.
    pools_from: Name | None = None

    def property_names(self) -> list[str]:
        """The properties its ``property`` steps set."""
        return [step.property for step in self.steps if isinstance(step, PropertyStep)]


class Project(Section):
    name: Name
    repository: Text
    merge_into: Text = "master"
    release_prefix: Text = "release/"
    builders: Annotated[list[Builder], Field(min_length=1)]
    # A private repository: its builds, logs and results are for logged-in readers only.
    private: bool = False
    # Builders known to fail: their failures are listed apart and are a success on GitHub.
    failing_builders: list[Name] = Field(default_factory=list)
    # Branches (glob patterns) whose builds a newer commit never cancels; null: merge_into
    # and the release branches. Tags and merge-queue branches are never cancelled.
    never_cancel: list[Text] | None = None

    @property
    def kept_branches(self) -> list[str]:
        """``never_cancel``, or its default."""
        if self.never_cancel is not None:
            return self.never_cancel
        return [self.merge_into, self.release_prefix + "*"]

    @model_validator(mode="after")
    def _builder_names_unique(self) -> Project:
        require_unique("builder", [b.name for b in self.builders])
        return self

    @model_validator(mode="after")
    def _triggers_fit(self) -> Project:
        """Matrices expanded (:mod:`.matrices`), then the trigger graph checked; errors
        name the builders as written."""
        builders, origin = expand(self.builders)
        require_unique("builder", [b.name for b in builders])
        check_triggers(
            [f"builders[{i}]" for i in origin],
            [b.name for b in builders],
            [b.then for b in builders],
            [b.triggered for b in builders],
        )
        # A matrix named in failing_builders: each of its builders (names of no builder
        # stay, for their own check).
        written = {b.name for b in self.builders if b.matrix}
        failing = [name for name in self.failing_builders if name not in written] + [
            made.name
            for made, i in zip(builders, origin, strict=True)
            if self.builders[i].name in written & set(self.failing_builders)
        ]
        return self.model_copy(update={"builders": builders, "failing_builders": failing})

    def on_changes(self) -> list[Builder]:
        """The builders that pushes and pull requests start: those not ``triggered``."""
        return [b for b in self.builders if not b.triggered]

    def triggers_of(self, builder: Builder) -> list[Builder]:
        """The builders whose ``then`` names ``builder``."""
        return [b for b in self.builders if builder.name in b.then]

    @model_validator(mode="after")
    def _failing_builders_exist(self) -> Project:
        names = {b.name for b in self.builders}
        for name in self.failing_builders:
            if name not in names:
                raise PydanticCustomError(
                    "failing_builder",
                    "failing_builders: {name} is not one of this project's builders",
                    {"name": show(name)},
                )
        return self
