"""Assembles BuildmasterConfig from the pieces in this package."""

from __future__ import annotations

from typing import Any

from config import (
    builders,
    changes,
    collapse,
    database,
    metrics,
    reporters,
    results,
    schedulers,
    secrets,
    superseded,
    workers,
    www,
)
from config.settings import Settings


def build(settings: Settings) -> dict[str, Any]:
    """The whole BuildmasterConfig dictionary for validated settings."""
    master = settings.buildmaster
    config: dict[str, Any] = {
        "title": master.title,
        "titleURL": master.url,
        "buildbotURL": master.url,
        "db": database.build(settings),
        "secretsProviders": [secrets.provider(settings)],
        "projects": builders.projects(settings),
        # A CI master must not phone home (and has no network in tests).
        "buildbotNetUsageData": None,
    }
    config.update(cluster(settings))
    if "workers" in master.roles:
        config["protocols"] = {
            "pb": {"port": f"tcp:{master.worker_port}:interface={master.bind_address}"}
        }
        config["workers"] = workers.build(settings)
        config["builders"] = builders.build(settings)
        config["collapseRequests"] = collapse.Collapser()
    if "schedulers" in master.roles:
        config["change_source"] = changes.build(settings)
        config["schedulers"] = schedulers.build(settings)
        # Reporters hear every master's builds through the message queue: run them on the
        # one master that schedules, or each status would be sent once per master.
        config.setdefault("services", []).extend(reporters.build(settings))
        config["services"].extend(superseded.build(settings))
        # Buildbot's janitor: a nightly build on a worker inside this master (one master
        # schedules, so one janitor per cluster).
        config["configurators"] = [results.Janitor(settings)]
    if "web" in master.roles:
        config["www"] = www.build(settings)
        config.setdefault("services", []).extend(
            [metrics.build(settings), results.ResultsPages(name="results")]
        )
    return config


def cluster(settings: Settings) -> dict[str, Any]:
    """Buildbot's multi-master mode: one database and a crossbar router shared by masters.

    Each master plays some of the roles; Buildbot itself makes sure that a scheduler or
    change source runs on one master at a time and that any master with a free worker
    claims a build request.
    """
    mq = settings.buildmaster.mq
    if mq is None:
        return {}
    return {
        "multiMaster": True,
        "mq": {"type": "wamp", "router_url": mq.router_url, "realm": mq.realm},
    }
