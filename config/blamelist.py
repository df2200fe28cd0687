"""Reporters that name no one responsible for a build.

Buildbot's build generators ask their reporter for a build's blamelist at each message
(``ReporterBase.getResponsibleUsersForBuild``, which Buildbot leaves to subclasses to
override). Its default reads the build's changes, and to find them it walks back through
every earlier successful build of the builder, one source stamp query each, until one on
the same branch: with many branches that is every build of the builder so far, for each
reporter, at each build's start and end. The master's CPU per build grew with its
history. None of our messages shows a blamelist (commit statuses, check runs, Zulip
summaries and alerts name the commit and the branch), so our reporters answer none.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer


class NoBlamelist:
    """Mixed in before a Buildbot reporter class: its messages get an empty blamelist."""

    def getResponsibleUsersForBuild(self, master: Any, buildid: int) -> defer.Deferred[list[str]]:
        return defer.succeed([])
