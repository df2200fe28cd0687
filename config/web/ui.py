"""The ``www`` section of BuildmasterConfig: the web UI's port, views, logins and hooks."""

from __future__ import annotations

from typing import Any

from config.settings import Settings
from config.web.auth import auth
from config.web.test_views.app import dashboard


def build(settings: Settings, hook_dialects: dict[str, Any]) -> dict[str, Any]:
    """The ``www`` section; ``hook_dialects`` are the change hooks it serves
    (:func:`config.github.webhook.hook_dialects`)."""
    master = settings.buildmaster
    login, authz = auth(settings)
    return {
        "port": f"tcp:{master.web_port}:interface={master.web_address}",
        "plugins": {
            "waterfall_view": {},
            "console_view": {},
            "grid_view": {},
            "wsgi_dashboards": [dashboard()],
        },
        "auth": login,
        "authz": authz,
        "change_hook_dialects": hook_dialects,
    }
