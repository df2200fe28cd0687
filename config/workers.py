"""The workers builds run on: local processes for the embedded default."""

from __future__ import annotations

from buildbot.plugins import util, worker
from buildbot.worker.base import AbstractWorker

from config.settings import Settings


def worker_names(settings: Settings) -> list[str]:
    """``worker-1`` .. ``worker-N``: the names workers log in with."""
    return [f"worker-{n}" for n in range(1, settings.workers.count + 1)]


def build(settings: Settings) -> list[AbstractWorker]:
    """Workers that connect to the master over PB with the shared secret password."""
    password = util.Secret("workers.password")
    return [
        worker.Worker(name, password, max_builds=settings.workers.max_builds)
        for name in worker_names(settings)
    ]
