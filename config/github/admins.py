"""Who is an admin on GitHub: the web UI's GitHub admins (``auth.github.admin_users`` and
the members of ``auth.github.admin_teams``), asked of GitHub at each use so that leaving a
team takes effect at once."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer

from config.github.api import GitHubApi


class Admins:
    """GitHub users who may approve a waiting pull request from GitHub."""

    def __init__(self, api: GitHubApi | None, users: list[str], teams: list[str]) -> None:
        self.api = api
        self.users = {user.lower() for user in users}
        self.teams = teams

    @defer.inlineCallbacks
    def include(self, repository: str, login: str) -> Generator[Any, Any, bool]:
        """Whether ``login`` is an admin (teams asked of the App on ``repository``'s owner)."""
        if login.lower() in self.users:
            return True
        if self.api is None:
            return False
        for team in self.teams:
            member = yield self.api.in_team(repository, team, login)
            if member:
                return True
        return False
