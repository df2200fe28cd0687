"""Statuses of triggered builders from the moment their pipeline starts.

A triggered builder has no build request until its trigger succeeds, so GitHub would show
nothing for it while the first builder runs, and a merge could go ahead without it. Each
pair (a builder, a builder its ``then`` names) has a generator that, when a build of the
first starts, posts a pending status for the second ("Waiting for <first>."), and when it
ends without success, a final one ("Not run: <first> did not succeed."). When it succeeds,
the triggered build's own statuses follow.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.process.results import SUCCESS, WARNINGS
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.generators.build import BuildStartEndStatusGenerator
from buildbot.reporters.message import MessageFormatterFunction
from twisted.internet import defer

from config.builds.branches import on_branches
from config.github.statuses import CommitStatusPush, build_property
from config.settings import Builder, GitHub, Project, Settings

TRIGGERED = "triggered"
"""The key of a :class:`TriggeredStatus` report that names the builder it is about (its
build is the triggering one's)."""


class TriggeredStatus(BuildStartEndStatusGenerator):
    """The status of ``target`` while a build of ``source`` decides whether it runs."""

    def __init__(self, project: Project, source: str, target: Builder) -> None:
        formatter = MessageFormatterFunction(self._description, "plain")
        super().__init__(builders=[source], start_formatter=formatter, end_formatter=formatter)
        self.project = project
        self.source = source
        self.target = target

    def _description(self, context: dict[str, Any]) -> str:
        if context["build"].get("complete"):
            return f"Not run: {self.source} did not succeed."
        return f"Waiting for {self.source}."

    @defer.inlineCallbacks
    def generate(
        self, master: Any, reporter: Any, key: tuple[str, ...], build: dict[str, Any]
    ) -> Generator[Any, Any, dict[str, Any] | None]:
        if key[2] == "finished" and build.get("results") in (SUCCESS, WARNINGS):
            return None  # the trigger requests the target's build, which reports itself
        report: dict[str, Any] | None = yield super().generate(master, reporter, key, build)
        if report is None:
            return None

        properties = build.get("properties", {})

        def prop(name: str) -> Any:
            return build_property(build, name)

        runs = on_branches(
            self.target.branches,
            prop("branch"),
            self.project,
            pull_request=prop("pull_request") is not None,
        )
        if not runs:
            return None
        shown = {**build, "properties": {**properties, "buildername": (self.target.name, "")}}
        return {**report, "builds": [shown], TRIGGERED: self.target.name}


def generators(settings: Settings) -> list[TriggeredStatus]:
    """One per builder and builder its ``then`` names."""
    return [
        TriggeredStatus(project, builder.name, target)
        for project in settings.projects
        for builder in project.builders
        for target in project.builders
        if target.name in builder.then
    ]


class TriggeredStatusPush(CommitStatusPush):
    """The commit statuses of :class:`TriggeredStatus`: one build's start makes a report
    per triggered builder, and Buildbot's GitHubStatusPush sends only the first report of
    an event, so this one sends each."""

    name = "TriggeredStatusPush"

    @defer.inlineCallbacks
    def sendMessage(self, reports: list[dict[str, Any]]) -> Generator[Any, Any, None]:
        for report in reports:
            yield super().sendMessage([report])


def build(github: GitHub, credentials: Any, settings: Settings) -> list[ReporterBase]:
    """The reporter of the triggered builders' statuses, when there are such builders."""
    found = generators(settings)
    if not found:
        return []
    return [TriggeredStatusPush(token=credentials, baseURL=github.api_url, generators=found)]
