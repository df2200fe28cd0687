"""The workers builds run on, pool by pool: local processes, the team's own machines
(static), EC2 latent workers, or a container per build (docker)."""

from __future__ import annotations

from buildbot.plugins import util, worker
from buildbot.worker.base import AbstractWorker

from config.settings import DockerPool, Ec2Pool, LocalPool, Settings, StaticPool, worker_names
from config.workers.docker import docker_workers
from config.workers.ec2.pool import ec2_workers


def build(settings: Settings, master_ca: str = "") -> list[AbstractWorker]:
    """The workers of every pool; docker and EC2 workers trust the worker port's
    certificate by ``master_ca`` (PEM; '' for their system's authorities)."""
    built: list[AbstractWorker] = []
    for index, pool in enumerate(settings.workers):
        secret = f"workers.{index}"
        if isinstance(pool, Ec2Pool):
            assert settings.aws is not None, "the settings check requires aws for ec2 pools"
            built += ec2_workers(settings, settings.aws, pool, master_ca)
        elif isinstance(pool, StaticPool):
            built += static_workers(pool, secret)
        elif isinstance(pool, DockerPool):
            built += docker_workers(settings, pool, master_ca)
        else:
            built += local_workers(pool, secret)
    return built


def local_workers(pool: LocalPool, secret: str) -> list[AbstractWorker]:
    """Workers on this machine, connecting over PB with the pool's password."""
    password = util.Secret(f"{secret}.password")
    return [
        worker.Worker(name, password, max_builds=pool.max_builds, properties={"pool": pool.name})
        for name in worker_names(pool)
    ]


def static_workers(pool: StaticPool, secret: str) -> list[AbstractWorker]:
    """Workers on the team's own machines, each with its own password."""
    return [
        worker.Worker(
            static.name,
            util.Secret(f"{secret}.workers.{n}.password"),
            max_builds=pool.max_builds,
            properties={"pool": pool.name},
        )
        for n, static in enumerate(pool.workers)
    ]
