"""Sections about how builds happen: where changes come from (``changes``), who merges
(``bot``), and how long results are kept (``results``)."""

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
