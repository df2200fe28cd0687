"""Where changes come from: a GitPoller per project (staging and local)."""

from __future__ import annotations

from buildbot.changes.base import ChangeSource
from buildbot.plugins import changes

from config.settings import Project, Settings


def poller(project: Project, interval: float) -> ChangeSource:
    """Polls every branch of the project's repository."""
    return changes.GitPoller(
        repourl=project.repository,
        branches=True,
        project=project.name,
        workdir=f"gitpoller-{project.name}",
        pollInterval=interval,
        pollAtLaunch=True,
        # A branch pushed at a commit that another branch already has is still a push
        # someone wants built.
        buildPushesWithNoCommits=True,
    )


def build(settings: Settings) -> list[ChangeSource]:
    """The change sources for ``changes.kind``."""
    if settings.changes.kind != "poll":
        return []
    return [poller(project, settings.changes.interval) for project in settings.projects]
