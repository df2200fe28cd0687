"""Assembles BuildmasterConfig from the subpackages, by the roles this master plays.

The top of ``config/``: it imports every subpackage and none imports it. What several
parts share is made here once and handed to them: the master's GitHub credentials (one
cache of App tokens for the statuses, the webhook and every checkout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from buildbot.util.service import BuildbotService

from config import database, heap, secrets
from config.builds import (
    builders,
    changes,
    collapse,
    janitor,
    limits,
    pipelines,
    priorities,
    schedulers,
    superseded,
)
from config.github import (
    approval,
    checks,
    credentials,
    pipeline_statuses,
    records,
    statuses,
    webhook,
)
from config.settings import Settings
from config.web import metrics, results, ui
from config.workers import pools, tls
from config.zulip import reporters as zulip


def build(settings: Settings, basedir: Path) -> dict[str, Any]:
    """The whole BuildmasterConfig dictionary for validated settings, for the master whose
    base directory is ``basedir`` (where it keeps the worker port's own certificates)."""
    master = settings.buildmaster
    github = github_credentials(settings)
    config: dict[str, Any] = {
        "title": master.title,
        "titleURL": master.url,
        "buildbotURL": master.url,
        "db": database.build(settings),
        "caches": database.CACHES,
        "secretsProviders": [secrets.provider(settings)],
        "projects": builders.projects(settings),
        # A CI master must not phone home (and has no network in tests).
        "buildbotNetUsageData": None,
        "services": [heap.LongLivedObjects()],
    }
    config.update(cluster(settings))
    if settings.changes.kind == "github" and {"web", "schedulers"} & set(master.roles):
        # The webhook and the Approve form share what is known of open pull requests.
        projects = [project.name for project in settings.projects]
        config["services"].append(records.PullRequestRecords(projects=projects))
    if "workers" in master.roles:
        config.update(runs_builds(settings, github, basedir))
    if "schedulers" in master.roles:
        config.update(schedules(settings))
        # Reporters hear every master's builds through the message queue: they run on
        # the one master that schedules, or each status would be sent once per master.
        config["services"] += [*reporters(settings, github), *superseded.build(settings)]
        minutes = settings.limits.build_minutes
        config["services"].append(limits.BuildTimeLimit(seconds=minutes * 60, name="time-limit"))
    triggerables = pipelines.triggerables(settings)
    if triggerables and {"workers", "schedulers"} & set(master.roles):
        # Trigger steps find their Triggerable schedulers on the master running the build.
        config.setdefault("schedulers", []).extend(triggerables)
    if "web" in master.roles:
        hooks = webhook.hook_dialects(settings)
        config["www"] = ui.build(settings, hooks)
        config["services"] += [metrics.build(settings), results.ResultsPages(name="results")]
        config["services"] += webhook.delivery_service(settings, github)
    return config


def github_credentials(settings: Settings) -> credentials.Credentials | None:
    """The master's GitHub credentials, or None without GitHub."""
    if settings.github is None:
        return None
    return credentials.Credentials(settings.github)


def runs_builds(
    settings: Settings, github: credentials.Credentials | None, basedir: Path
) -> dict[str, Any]:
    """The ``workers`` role: the worker port (TLS only), the workers and the builders."""

    def fetch_config(repository: str) -> Any:
        return credentials.fetch_config(github, repository)

    return {
        "protocols": {"pb": {"port": tls.listener(settings, basedir)}},
        "workers": pools.build(settings, tls.ca_pem(settings, basedir)),
        "builders": builders.build(settings, fetch_config),
        "collapseRequests": collapse.Collapser(),
        "prioritizeBuilders": priorities.prioritize,
    }


def schedules(settings: Settings) -> dict[str, Any]:
    """The ``schedulers`` role: change sources, schedulers, and Buildbot's janitor (a
    nightly build on a worker inside this master: one master schedules, so one janitor
    per cluster)."""
    return {
        "change_source": changes.build(settings),
        "schedulers": schedulers.build(settings) + approval.build(settings),
        "configurators": [janitor.Janitor(settings)],
    }


def reporters(settings: Settings, github: credentials.Credentials | None) -> list[BuildbotService]:
    """GitHub's check runs (an App) or commit statuses, and Zulip's streams, for the
    sections the settings have."""
    found: list[BuildbotService] = []
    if settings.github is not None and github is not None and settings.github.report_status:
        if settings.github.uses_checks():
            found.append(
                checks.github_checks(settings.github, github.for_job(credentials.CHECKS), settings)
            )
        else:
            token = github.for_job(credentials.STATUSES)
            found.append(statuses.github_status(settings.github, token))
            found += pipeline_statuses.build(settings.github, token, settings)
    return [*found, *zulip.build(settings)]


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
