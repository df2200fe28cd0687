"""Sections about how builds happen: where changes come from (``changes``), who merges
(``bot``), how long results are kept (``results``), and what one build may take
(``limits``)."""

from __future__ import annotations

from typing import Literal

from config.settings.values import Count, PositiveNumber, Section, Text


class Changes(Section):
    kind: Literal["github", "poll"] = "poll"
    interval: PositiveNumber = 30.0
    branches: Literal["all", "main_and_release"] = "all"
    # A new commit on a branch or pull request cancels the builds of its older commits.
    cancel_superseded: bool = True


class BotIdentity(Section):
    """The name and email of the merge commits the bot makes."""

    name: Text = "Buildbot"
    email: Text = "buildbot@localhost"


class Results(Section):
    """Published build results and housekeeping: how long results and logs are kept."""

    keep_days: Count = 14
    log_keep_days: Count = 90


class Limits(Section):
    """What one build, or one webhook delivery, may take of the master; a build that goes
    past one fails saying which."""

    # All the uploads of one build together, in MB.
    upload_mb: PositiveNumber = 1024.0
    # One log of a step, in MB; past it, the log keeps its start and its newest part.
    log_mb: PositiveNumber = 64.0
    # The wall time of one build.
    build_minutes: PositiveNumber = 240.0
    # One webhook delivery's body (GitHub sends at most 25 MB).
    webhook_mb: PositiveNumber = 25.0
    # The JUnit XML reports of one test step together; past it, counts come from the log.
    reports_mb: PositiveNumber = 20.0
