"""One summary for a whole pipeline: a push's buildset and every buildset its builds
triggered (and theirs, down the graph).

A Trigger step makes its buildsets (``parent_buildid``: the triggering build) while its
build runs, so before that build's buildset completes: once every buildset known under
the first one has completed, nothing more can be triggered, and the pipeline is done.
Each buildset's completion looks at the whole pipeline; only the one that completed last
(by ``complete_at``, then id) sends the summary, so a pipeline makes exactly one message
whichever of its buildsets completes last and whether or not the first waits for the rest.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Sequence
from typing import Any, ClassVar

from buildbot.data import resultspec
from buildbot.process.results import worst_status
from buildbot.reporters import utils
from buildbot.reporters.generators.buildset import BuildSetCombinedStatusGenerator
from twisted.internet import defer

DEPTH = 50
"""How many triggers up a buildset's first buildset may be (the graph is checked to be
acyclic; this only bounds a walk over a database edited by hand)."""


@defer.inlineCallbacks
def first_buildset(master: Any, buildset: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """The buildset that started ``buildset``'s pipeline: up the triggering builds."""
    for _ in range(DEPTH):
        if buildset.get("parent_buildid") is None:
            break
        parent = yield master.data.get(("builds", buildset["parent_buildid"]))
        if parent is None:
            break
        request = yield master.data.get(("buildrequests", parent["buildrequestid"]))
        buildset = yield master.data.get(("buildsets", request["buildsetid"]))
    return buildset


@defer.inlineCallbacks
def pipeline_buildsets(
    master: Any, first: dict[str, Any]
) -> Generator[Any, Any, list[dict[str, Any]]]:
    """``first`` and every buildset triggered under it, in the order they were made."""
    found = [first]
    for buildset in found:  # grows as triggered buildsets are found
        requests = yield master.data.get(
            ("buildrequests",), filters=[resultspec.Filter("buildsetid", "eq", [buildset["bsid"]])]
        )
        for request in requests:
            builds = yield master.data.get(("buildrequests", request["buildrequestid"], "builds"))
            for build in builds:
                found += yield master.data.get(
                    ("buildsets",),
                    filters=[resultspec.Filter("parent_buildid", "eq", [build["buildid"]])],
                )
        if len(found) > DEPTH * DEPTH:
            break
    return found


def completed_last(buildsets: list[dict[str, Any]]) -> int | None:
    """The id of the buildset that completed last, None while any is running."""
    if not all(b["complete"] for b in buildsets):
        return None
    last = max(buildsets, key=lambda b: (b["complete_at"], b["bsid"]))
    return int(last["bsid"])


class PipelineSummaries(BuildSetCombinedStatusGenerator):
    """Buildbot's generator of one report per buildset, made one report per pipeline: the
    first buildset, with the builds of all its buildsets (see the module's docstring).

    Where no builder triggers another (``triggers`` false), every pipeline is one buildset
    and this is Buildbot's generator, reading nothing more per buildset."""

    compare_attrs: ClassVar[Sequence[str]] = ["formatter", "triggers"]

    def __init__(self, message_formatter: Any, triggers: bool) -> None:
        super().__init__(message_formatter)
        self.triggers = triggers

    @defer.inlineCallbacks
    def generate(
        self, master: Any, reporter: Any, key: Any, message: dict[str, Any]
    ) -> Generator[Any, Any, dict[str, Any] | None]:
        if not self.triggers:
            stock: dict[str, Any] = yield super().generate(master, reporter, key, message)
            return stock
        done = yield master.data.get(("buildsets", message["bsid"]))
        first = yield first_buildset(master, done)
        buildsets = yield pipeline_buildsets(master, first)
        if completed_last(buildsets) != done["bsid"]:
            return None
        builds: list[dict[str, Any]] = []
        for buildset in buildsets:
            details = yield utils.getDetailsForBuildset(
                master,
                buildset["bsid"],
                want_properties=self.formatter.want_properties,
                want_steps=self.formatter.want_steps,
                want_logs=self.formatter.want_logs,
                want_logs_content=self.formatter.want_logs_content,
            )
            builds += details["builds"]
        report: dict[str, Any] = yield self.buildset_message(
            self.formatter, master, reporter, first, builds
        )
        report["results"] = functools.reduce(worst_status, [b["results"] for b in buildsets])
        return report
