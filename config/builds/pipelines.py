"""Builders that trigger builders (``then``), and the counted locks builders and steps take.

A successful build triggers the builders its ``then`` names, through their Triggerable
schedulers (a triggered builder has no other), for the same merged tree: the triggered
build checks out the same pushed commit and merges the very commit of ``merge_into`` its
trigger merged (``merge_target_revision``), so it makes the same merge commit
(``merged_revision``, which MergeForward checks) even when ``merge_into`` moved since. It
gets the properties its trigger's ``property`` steps (and those of the builders before
it) set, and the pull request's ``base``; a build of untrusted code triggers untrusted
builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from buildbot.locks import BaseLockId, MasterLock, WorkerLock
from buildbot.plugins import schedulers, steps
from buildbot.process.buildstep import BuildStep
from buildbot.process.results import SKIPPED, SUCCESS, WARNINGS
from buildbot.schedulers.base import BaseScheduler

from config.builds.conditions import PUSHED_TAG, is_tag_build, runs_here
from config.builds.merge import MERGE_TARGET, MERGED
from config.builds.trust import UNTRUSTED, is_untrusted
from config.settings import Builder, LockUse, Project, Settings

PASSED = ("base", "pull_request", MERGED, MERGE_TARGET)
"""The properties every triggered build gets from its trigger (when set there)."""


def scheduler_name(builder: str) -> str:
    """The Triggerable scheduler of a triggered builder."""
    return f"{builder}-triggered"


def triggerables(settings: Settings) -> list[BaseScheduler]:
    """One Triggerable scheduler per builder that runs only when triggered.

    The Trigger step finds them on the master that runs the triggering build, so every
    master with workers has them, as well as the one that schedules.
    """
    return [
        schedulers.Triggerable(name=scheduler_name(builder.name), builderNames=[builder.name])
        for project in settings.projects
        for builder in project.builders
        if builder.triggered
    ]


def known_properties(project: Project, builder: Builder) -> list[str]:
    """The properties a build of ``builder`` has from ``property`` steps: its own, and
    those the builders that trigger it (and theirs, up the graph) set."""
    found = list(builder.property_names())
    for trigger in project.triggers_of(builder):
        found += [name for name in known_properties(project, trigger) if name not in found]
    return found


def succeeded(step: BuildStep) -> bool:
    """Whether the build so far succeeded (a step that does not halt may have failed)."""
    return step.build.results in (SUCCESS, WARNINGS)


class TriggerNext(steps.Trigger):
    """Buildbot's Trigger step handing on the properties ``passed`` that the build has
    (and whether it builds untrusted code), and saying why it did not trigger when it was
    skipped."""

    def __init__(
        self,
        passed: list[str],
        project: Project,
        conditions: dict[str, list[str] | None],
        **kwargs: Any,
    ) -> None:
        self.passed = passed
        self.project = project
        self.conditions = conditions
        super().__init__(schedulerNames=list(conditions), **kwargs)

    def getSchedulersAndProperties(self) -> list[dict[str, Any]]:
        """Buildbot's customisation point for what to trigger with which properties: the
        builders whose ``branches`` take this build's branch."""
        values = {name: self.getProperty(name) for name in self.passed}
        properties = {name: value for name, value in values.items() if value is not None}
        if any(is_untrusted(request) for request in self.build.requests):
            properties[UNTRUSTED] = True
        if is_tag_build(self.build):
            properties[PUSHED_TAG] = True
        return [
            {"sched_name": name, "props_to_set": properties, "unimportant": False}
            for name, rules in self.conditions.items()
            if runs_here(rules, self.project, self)
        ]

    def getResultSummary(self) -> dict[str, str]:
        if self.results == SKIPPED:
            return {"step": "not triggered: the build did not succeed"}
        if self.triggeredNames == []:
            return {"step": "nothing to trigger on this branch"}
        summary: dict[str, str] = super().getResultSummary()
        return summary


def trigger_steps(project: Project, builder: Builder) -> list[BuildStep]:
    """The step that triggers ``builder.then`` after a successful build (none without)."""
    if not builder.then:
        return []
    targets = [b for b in project.builders if b.name in builder.then]
    return [
        TriggerNext(
            name="trigger",
            conditions={scheduler_name(b.name): b.branches for b in targets},
            project=project,
            waitForFinish=builder.wait,
            updateSourceStamp=True,  # the commit checked out, not the branch's newest
            passed=[*PASSED, *known_properties(project, builder)],
            doStepIf=succeeded,
            hideStepIf=False,
            haltOnFailure=True,
        )
    ]


LockTable = Mapping[str, BaseLockId]
"""The master's locks by name: Buildbot wants one object per lock across its config."""


def lock_table(settings: Settings) -> LockTable:
    """The ``locks`` of the settings, and the exclusive worker locks builders name in
    ``lock``."""
    table: dict[str, BaseLockId] = {
        name: WorkerLock(name, maxCount=lock.count)
        if lock.per == "worker"
        else MasterLock(name, maxCount=lock.count)
        for name, lock in settings.locks.items()
    }
    for project in settings.projects:
        for builder in project.builders:
            if builder.lock is not None and builder.lock not in table:
                table[builder.lock] = WorkerLock(builder.lock, maxCount=1)
    return table


def taken(uses: list[LockUse], table: LockTable) -> list[Any]:
    """The lock accesses of a builder's or a step's ``locks``."""
    return [table[use.name].access(use.access) for use in uses]
