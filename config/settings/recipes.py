"""The ``projects`` section: each project's repository, branches and builders, and each
builder's recipe of steps."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from config.settings.values import (
    Command,
    Name,
    PositiveNumber,
    Section,
    Text,
    require_unique,
    show,
)


class StepOptions(Section):
    """What every recipe step has: its name in the UI, where it runs, whether it halts."""

    name: Name | None = None
    workdir: Text | None = None
    halt_on_failure: bool = True


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
    ``results/`` directory is published instead, if elsewhere.
    """

    kind: Literal["upload"]
    source: Text
    url: Text | None = None


Step = Annotated[RunStep | TestStep | LintStep | DocsStep | UploadStep, Field(discriminator="kind")]
STEP_KINDS = ("run", "test", "lint", "docs", "upload")


class Builder(Section):
    name: Name
    steps: Annotated[list[Step], Field(min_length=1)]
    # Builders naming the same lock never run at the same time on one worker.
    lock: Name | None = None
    # The worker pools (by name) whose workers may run its builds; null: every pool.
    pools: Annotated[list[Name], Field(min_length=1)] | None = None


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
