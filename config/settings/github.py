"""The ``github`` section: how the master talks to GitHub, and which pull requests build."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from config.settings.values import Count, PositiveNumber, Section, Text

# GitHub's author_association values (the author's relation to the base repository).
Association = Literal[
    "OWNER",
    "MEMBER",
    "COLLABORATOR",
    "CONTRIBUTOR",
    "FIRST_TIME_CONTRIBUTOR",
    "FIRST_TIMER",
    "MANNEQUIN",
    "NONE",
]

TRUSTED: list[Association] = ["OWNER", "MEMBER", "COLLABORATOR"]
"""Whose pull requests build without an approval, by default."""


class PullRequests(Section):
    """Which pull requests build from their ``pull_request`` deliveries, and which wait.

    A pull request from a fork is untrusted code: it builds only on pools marked
    ``untrusted`` (``forks``; by default, when there is such a pool). It waits for an
    admin's approval of its head commit (in the web UI, or the ``approve_label`` added on
    GitHub) when its author's association is not ``trusted``, or when
    ``forks_need_approval`` is true.
    """

    build: bool = True
    # Pull requests from forks build (on the untrusted pools); null: when a pool is untrusted.
    forks: bool | None = None
    drafts: bool = True
    trusted: list[Association] = Field(default_factory=TRUSTED.copy)
    forks_need_approval: bool = True
    approve_label: Text | None = "ci-approved"


class GitHubApp(Section):
    """The master acts as this GitHub App, with short-lived installation tokens."""

    app_id: Annotated[int, Field(gt=0)]
    private_key: SecretStr
    # The installation on the organisation; null: found for each repository.
    installation_id: Annotated[int, Field(gt=0)] | None = None


class GitHub(Section):
    # A personal access token, or a GitHub App (one of the two).
    token: SecretStr | None = None
    app: GitHubApp | None = None
    webhook_secret: SecretStr
    api_url: Text = "https://api.github.com"
    report_status: bool = True
    # Check runs (an App only) rather than commit statuses; null: check runs with an App.
    checks: bool | None = None
    # Annotations (failures, lint findings at their lines) one check run carries at most.
    max_annotations: Annotated[int, Field(ge=0, le=10000)] = 500
    pull_requests: PullRequests = Field(default_factory=PullRequests)
    # A delivery whose processing keeps failing is tried this many times, waiting
    # delivery_retry_wait seconds after the first failure and twice as long after each
    # next; then it is set aside in webhook-spool/failed/ and said on the ops stream.
    delivery_attempts: Count = 8
    delivery_retry_wait: PositiveNumber = 60.0

    @model_validator(mode="after")
    def _token_or_app(self) -> GitHub:
        if (self.token is None) == (self.app is None):
            raise PydanticCustomError(
                "credentials",
                "give token (a personal access token) or app (a GitHub App), one of them",
            )
        if self.checks and self.app is None:
            raise PydanticCustomError(
                "checks", "checks: check runs need a GitHub App (app), not a personal token"
            )
        return self

    def uses_checks(self) -> bool:
        """Whether builds report as check runs (else as commit statuses)."""
        return self.app is not None and self.checks is not False
