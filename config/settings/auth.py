"""The ``auth`` section: who logs in to the web UI, and who is an admin."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from config.settings.values import Name, Section, Text, show


def _team(value: str) -> str:
    org, _, team = value.partition("/")
    if not org or not team or "/" in team:
        raise PydanticCustomError(
            "team", "must be an organisation's team as org/team, got {got}", {"got": show(value)}
        )
    return value


Team = Annotated[Text, AfterValidator(_team)]


class GitHubLogin(Section):
    """Logins through GitHub's OAuth (Buildbot's ``GitHubAuth``); admins by team or login."""

    client_id: Text
    client_secret: SecretStr
    # GitHub Enterprise's address (https://ghe.example.com); null: github.com.
    server_url: Text | None = None
    admin_teams: list[Team] = Field(default_factory=list)
    admin_users: list[Text] = Field(default_factory=list)
    # Who may read when anonymous visitors may not: members of these organisations.
    reader_orgs: list[Text] = Field(default_factory=list)


class Auth(Section):
    users: dict[Name, SecretStr] = Field(default_factory=dict)
    admins: list[Name] = Field(default_factory=list)
    github: GitHubLogin | None = None
    # /metrics asks for a user of ``users`` (HTTP basic auth) when true.
    metrics_login: bool = False
    # Whether visitors who have not logged in may read (builds, logs, /results, /metrics);
    # null: yes, unless a project is private.
    anonymous_read: bool | None = None

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> Auth:
        if (self.github is not None) == bool(self.users or self.admins):
            raise PydanticCustomError(
                "login",
                "log in with passwords (users, admins) or with GitHub (github): one of them",
            )
        if self.github is not None and self.metrics_login:
            raise PydanticCustomError(
                "metrics_login", "metrics_login needs password users; GitHub logins cannot scrape"
            )
        return self

    @model_validator(mode="after")
    def _admins_are_users(self) -> Auth:
        for admin in self.admins:
            if admin not in self.users:
                raise PydanticCustomError(
                    "admin", "admin {admin} is not one of auth.users", {"admin": show(admin)}
                )
        return self
