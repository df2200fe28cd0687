"""The last step of every build: the processes the build left running are ended.

A test server started in the background, a daemon a test forgot, or something a build
left on purpose would otherwise see the next builds on a warm worker (their files, and
through ``/proc`` their environments). The step runs ``scripts/leftovers.py`` on the
worker, which ends every process under the worker but itself: the build's commands have
ended, and the worker adopts what they orphaned (``slave/adopt-leftovers.tac``). A worker
that runs several builds at once cannot tell whose processes are whose, so its builds do
without.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.process import buildstep
from buildbot.process.results import SUCCESS, WARNINGS
from twisted.internet import defer

from config.builds.scripts import PYTHON, printed, script

LEFTOVERS_SCRIPT = script("leftovers.py")


class EndLeftovers(buildstep.ShellMixin, buildstep.BuildStep):
    """Ends what the build left running on its worker; runs even after a failure."""

    name = "leftovers"
    description = "ending leftover processes"
    alwaysRun = True
    haltOnFailure = False
    flunkOnFailure = False
    warnOnFailure = True

    def __init__(self, **kwargs: Any) -> None:
        kwargs = self.setupShellMixin({"logEnviron": False, **kwargs}, prohibitArgs=["command"])
        super().__init__(
            hideStepIf=lambda results, step: results == SUCCESS and not step.ended, **kwargs
        )
        self.ended: list[str] = []

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        cmd = yield self.makeRemoteShellCommand(
            command=PYTHON,
            collectStdout=True,
            initialStdin=LEFTOVERS_SCRIPT,
        )
        yield self.runCommand(cmd)
        if cmd.rc != 0:
            self.descriptionDone = "could not look for leftover processes"
            return int(WARNINGS)
        self.ended = printed(cmd.stdout).get("ended", [])
        count = len(self.ended)
        self.descriptionDone = (
            f"ended {count} leftover process{'es' if count != 1 else ''}"
            if count
            else "no leftover processes"
        )
        return int(SUCCESS)
