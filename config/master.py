"""Assembles BuildmasterConfig from the pieces in this package."""

from __future__ import annotations

from typing import Any

from config import builders, changes, reporters, schedulers, secrets, workers, www
from config.settings import Settings


def build(settings: Settings) -> dict[str, Any]:
    """The whole BuildmasterConfig dictionary for validated settings."""
    master = settings.buildmaster
    return {
        "title": master.title,
        "titleURL": master.url,
        "buildbotURL": master.url,
        "db": {"db_url": master.db_url},
        "protocols": {"pb": {"port": f"tcp:{master.worker_port}:interface={master.bind_address}"}},
        "secretsProviders": [secrets.provider(settings)],
        "workers": workers.build(settings),
        "change_source": changes.build(settings),
        "schedulers": schedulers.build(settings),
        "projects": builders.projects(settings),
        "builders": builders.build(settings),
        "www": www.build(settings),
        "services": reporters.build(settings),
        # A CI master must not phone home (and has no network in tests).
        "buildbotNetUsageData": None,
    }
