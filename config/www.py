"""The web UI: views, title and URL, logins, and who may control builds."""

from __future__ import annotations

from typing import Any

from buildbot.plugins import util
from buildbot.www.auth import NoAuth

from config import rest
from config.settings import Settings


def auth(settings: Settings) -> tuple[Any, Any]:
    """``(auth, authz)``: users log in with passwords; anyone reads, only admins control."""
    users = {name: secret.get_secret_value() for name, secret in settings.auth.users.items()}
    authz = util.Authz(
        allowRules=[util.AnyControlEndpointMatcher(role="admins")],
        roleMatchers=[util.RolesFromUsername(roles=["admins"], usernames=settings.auth.admins)],
    )
    return (util.UserPasswordAuth(users) if users else NoAuth()), authz


def build(settings: Settings) -> dict[str, Any]:
    """The ``www`` section of BuildmasterConfig."""
    rest.mend()
    master = settings.buildmaster
    login, authz = auth(settings)
    return {
        "port": f"tcp:{master.web_port}:interface={master.bind_address}",
        "plugins": {"waterfall_view": {}, "console_view": {}, "grid_view": {}},
        "auth": login,
        "authz": authz,
        "change_hook_dialects": {},
    }
