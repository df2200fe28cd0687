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

from collections.abc import Generator, Mapping
from typing import Any

from buildbot.locks import BaseLockId, MasterLock, WorkerLock
from buildbot.plugins import schedulers, steps
from buildbot.process.buildstep import BuildStep
from buildbot.process.results import RETRY, SKIPPED, SUCCESS, WARNINGS, statusToString
from buildbot.reporters.utils import getURLForBuild
from buildbot.schedulers.base import BaseScheduler
from twisted.internet import defer
from twisted.python import log

from config.builds.conditions import PUSHED_TAG, is_tag_build, runs_here
from config.builds.merge import MERGE_TARGET, MERGED
from config.builds.trust import UNTRUSTED, builds_untrusted
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
    (and whether it builds untrusted code), saying why it did not trigger when it was
    skipped, and linking each triggered build with its result once it ended.

    Buildbot links the triggered build requests at once, and the builds only when it waits
    for them; without that, the web UI would count the triggered builds as pending for
    ever."""

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
        if builds_untrusted(self.build):
            properties[UNTRUSTED] = True
        if is_tag_build(self.build):
            properties[PUSHED_TAG] = True
        return [
            {"sched_name": name, "props_to_set": properties, "unimportant": False}
            for name, rules in self.conditions.items()
            if runs_here(rules, self.project, self)
        ]

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        results: int = yield super().run()
        if not self.waitForFinish:
            for request in self.brids:
                self.link_when_done(request)  # not waited for: the build ends now
        return results

    @defer.inlineCallbacks
    def link_when_done(self, request: int) -> Generator[Any, Any, None]:
        """Links the builds of ``request`` with their results once it is complete."""
        try:
            yield request_done(self.master, request)
            builds = yield self.master.data.get(("buildrequests", request, "builds"))
            for build in builds:
                builder = yield self.master.data.get(("builders", build["builderid"]))
                name = f"{statusToString(build['results'])}: {builder['name']} #{build['number']}"
                url = getURLForBuild(self.master, build["builderid"], build["number"])
                yield self.addURL(name, url)
        except Exception as error:  # the link is a nicety: the triggered build goes on
            log.msg(f"could not link the builds of request {request}: {error!r}")

    def getResultSummary(self) -> dict[str, str]:
        if self.results == SKIPPED:
            return {"step": "not triggered: the build did not succeed"}
        if self.triggeredNames == []:
            return {"step": "nothing to trigger on this branch"}
        summary: dict[str, str] = super().getResultSummary()
        return summary


@defer.inlineCallbacks
def request_done(master: Any, request: int) -> Generator[Any, Any, None]:
    """Fires once the build request ``request`` has been built (a build retried does not
    count), or completed without a build (cancelled before it started).

    It watches the request's builds end, and not only the request's ``complete`` event:
    Buildbot's Trigger step waits for that one with ``mq.waitUntilEvent``, which stops
    consuming inside its callback while the simple message queue loops over its
    consumers, so the consumer just after it misses the event. Ours resume on the next
    turn of the reactor, and so harm no other consumer.
    """
    arrived: defer.Deferred[None] = defer.Deferred()
    seen: list[Any] = []

    def resume(key: Any, message: dict[str, Any]) -> None:
        if message.get("buildrequestid") != request or message.get("results") == RETRY:
            return
        if not seen:
            seen.append(key)
            master.reactor.callLater(0, arrived.callback, None)

    consumers = [
        (yield master.mq.startConsuming(resume, ("builds", None, "finished"))),
        (yield master.mq.startConsuming(resume, ("buildrequests", str(request), "complete"))),
    ]
    try:
        found = yield master.data.get(("buildrequests", request))
        builds = yield master.data.get(("buildrequests", request, "builds"))
        built = any(b["complete"] and b["results"] != RETRY for b in builds)
        if not (built or (found and found["complete"])):
            yield arrived
    finally:
        for consumer in consumers:
            yield consumer.stopConsuming()


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
