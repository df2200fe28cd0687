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
from buildbot.plugins import schedulers, steps, util
from buildbot.process.buildstep import BuildStep
from buildbot.process.results import SKIPPED, SUCCESS, WARNINGS
from buildbot.schedulers.base import BaseScheduler

from config.builds.merge import MERGE_TARGET, MERGED
from config.builds.trust import UNTRUSTED, is_untrusted
from config.settings import Builder, Lock, LockUse, Project, Settings

PASSED = ("base", MERGED, MERGE_TARGET)
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


def passed_properties(names: list[str]) -> Any:
    """A renderable of the properties a trigger hands on: ``names`` (those set) and
    whether the build is of untrusted code."""

    @util.renderer
    def render(props: Any) -> dict[str, Any]:
        passed = {name: props.getProperty(name) for name in names}
        passed = {name: value for name, value in passed.items() if value is not None}
        build = props.getBuild()
        if any(is_untrusted(request) for request in build.requests):
            passed[UNTRUSTED] = True
        return passed

    return render


def succeeded(step: BuildStep) -> bool:
    """Whether the build so far succeeded (a step that does not halt may have failed)."""
    return step.build.results in (SUCCESS, WARNINGS)


class TriggerNext(steps.Trigger):
    """Buildbot's Trigger step, saying why it did not trigger when it was skipped."""

    def getResultSummary(self) -> dict[str, str]:
        if self.results == SKIPPED:
            return {"step": "not triggered: the build did not succeed"}
        summary: dict[str, str] = super().getResultSummary()
        return summary


def trigger_steps(project: Project, builder: Builder) -> list[BuildStep]:
    """The step that triggers ``builder.then`` after a successful build (none without)."""
    if not builder.then:
        return []
    return [
        TriggerNext(
            name="trigger",
            schedulerNames=[scheduler_name(name) for name in builder.then],
            waitForFinish=builder.wait,
            updateSourceStamp=True,  # the commit checked out, not the branch's newest
            set_properties=passed_properties([*PASSED, *known_properties(project, builder)]),
            doStepIf=succeeded,
            hideStepIf=False,
            haltOnFailure=True,
        )
    ]


def lock_id(name: str, lock: Lock) -> BaseLockId:
    """The Buildbot lock of a ``locks`` entry: Buildbot finds the one real lock by name."""
    if lock.per == "worker":
        return WorkerLock(name, maxCount=lock.count)
    return MasterLock(name, maxCount=lock.count)


def taken(uses: list[LockUse], defined: Mapping[str, Lock]) -> list[Any]:
    """The lock accesses of a builder's or a step's ``locks``."""
    return [lock_id(use.name, defined[use.name]).access(use.access) for use in uses]
