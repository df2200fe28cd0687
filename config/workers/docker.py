"""Docker pools: a new container per build (Buildbot's ``DockerLatentWorker``)."""

from __future__ import annotations

from buildbot.plugins import worker
from buildbot.worker.base import AbstractWorker

from config.settings import DockerPool, Settings, worker_names


def docker_workers(settings: Settings, pool: DockerPool) -> list[AbstractWorker]:
    """Latent workers that each run one build in a new container of the pool's image
    (``slave/docker/``), with a random password per master start, then remove it."""
    master = settings.buildmaster
    hostconfig = {"network_mode": pool.network_mode} if pool.network_mode else {}
    return [
        worker.DockerLatentWorker(
            name,
            None,
            docker_host=pool.docker_host,
            image=pool.image,
            masterFQDN=pool.master_address or f"{master.host}:{master.worker_port}",
            hostconfig=hostconfig,
            build_wait_timeout=0,
            max_builds=pool.max_builds,
            properties={"pool": pool.name},
        )
        for name in worker_names(pool)
    ]
