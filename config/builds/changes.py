"""Where changes come from without a webhook: a GitPoller per project (staging, ``make
run``). With ``changes.kind: github`` the webhook (:mod:`config.github.webhook`) makes
them instead, and there is no change source.

Changes of pull requests carry a category of their own, so the push scheduler leaves them
to the pull request schedulers.
"""

from __future__ import annotations

from buildbot.changes.base import ChangeSource
from buildbot.plugins import changes

from config.settings import Project, Settings

PULL_REQUEST = "pull"
"""The category of a change a ``pull_request`` delivery made."""
APPROVED = "approved"
"""The category of a change an admin's approval made (built at once by the approval)."""


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
    """The change sources for ``changes.kind`` (webhooks need none: see hook_dialects)."""
    if settings.changes.kind != "poll":
        return []
    return [poller(project, settings.changes.interval) for project in settings.projects]
