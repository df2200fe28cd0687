"""The checkout step: the pushed commit, in a tree kept between builds."""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from typing import Any

from buildbot.process import remotecommand
from buildbot.process.results import FAILURE, SUCCESS
from buildbot.steps.source.base import Source
from twisted.internet import defer

from config.builds.limits import STARTED
from config.builds.scripts import printed, repeated, script

CHECKOUT_SCRIPT = script("checkout.sh")
CHECKOUT_FAILURES = {
    3: "cannot clone {repository}",
    4: "cannot fetch {branch}",
    5: "no commit {revision} on {branch}",
}


class Checkout(Source):
    """The pushed commit, in a tree kept between builds so a warm worker fetches only news.

    What Buildbot's Git step does with ``mode="full", method="fresh"`` (``checkout.sh``
    says what that is), in one remote command where the Git step sends up to seven: a
    directory listing, then clean, cat-file, fetch, checkout, branch and rev-parse, each a
    round trip between master and worker and log writes on the master. On a warm worker
    those were most of a build's time. Sets ``got_revision``. Patches (of try builds)
    are not applied: this master takes none.
    """

    renderables: Sequence[str] = ("repourl",)  # added to the base classes' own

    def __init__(self, repourl: str, **kwargs: Any) -> None:
        self.repourl = repourl
        super().__init__(mode="full", logEnviron=False, **kwargs)

    def computeSourceRevision(self, changes: list[Any]) -> str | None:
        """The newest change's commit, as Buildbot's Git step takes it."""
        return changes[-1].revision if changes else None

    @defer.inlineCallbacks
    def run_vc(
        self, branch: str | None, revision: str | None, patch: Any
    ) -> Generator[Any, Any, Any]:
        branch = branch or "HEAD"
        self.setProperty(STARTED, time.time(), self.name)  # the build's time counts from here
        stdio = yield self.addLogForRemoteCommands("stdio")
        cmd = remotecommand.RemoteShellCommand(
            self.workdir,
            ["sh", "-s", self.repourl, branch, revision or ""],
            env=self.env,
            logEnviron=self.logEnviron,
            timeout=self.timeout,
            collectStdout=True,
            initialStdin=CHECKOUT_SCRIPT,
        )
        cmd.useLog(stdio, False)
        yield self.runCommand(cmd)
        if cmd.rc != 0:
            failure = CHECKOUT_FAILURES.get(cmd.rc, "cannot check out {branch}")
            self.descriptionDone = failure.format(
                repository=self.repourl, branch=branch, revision=revision
            )
            return FAILURE
        lines = printed(cmd.stdout)
        if repeated(lines, "revision"):
            self.descriptionDone = "the checkout printed its revision more than once"
            return FAILURE
        self.updateSourceProperty("got_revision", lines["revision"][0])
        return SUCCESS
