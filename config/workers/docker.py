"""Docker pools: a new container per build (Buildbot's ``DockerLatentWorker``)."""

from __future__ import annotations

from typing import Any

from buildbot.plugins import worker
from buildbot.worker.base import AbstractWorker

from config.settings import DockerPool, Settings, worker_names
from config.workers.passwords import RenewedPasswords


class DockerWorker(RenewedPasswords, worker.DockerLatentWorker):
    """Buildbot's docker worker, with a new strong password for each container, whose
    container is also given the certificate authority it verifies the worker port by
    (``BUILDMASTER_CA``, PEM; empty: the image's system authorities).
    ``slave/docker/start-worker`` reads both."""

    master_ca = ""

    def checkConfig(self, name: str, password: str | None, master_ca: str, **kwargs: Any) -> None:
        super().checkConfig(name, password, **kwargs)

    def reconfigService(
        self, name: str, password: str | None, master_ca: str, **kwargs: Any
    ) -> Any:
        self.master_ca = master_ca
        return super().reconfigService(name, password, **kwargs)

    def start_instance(self, build: Any) -> Any:
        self.machine_password()  # createEnvironment gives it to the container
        return super().start_instance(build)

    def stop_instance(self, fast: bool = False) -> Any:
        self.forget_password()
        return super().stop_instance(fast)

    def createEnvironment(self, build: Any = None) -> dict[str, str]:
        environment: dict[str, str] = super().createEnvironment(build)
        return {
            **environment,
            "WORKERPASS": self.renewable_password.value,
            "BUILDMASTER_CA": self.master_ca,
        }


def docker_workers(
    settings: Settings, pool: DockerPool, master_ca: str = ""
) -> list[AbstractWorker]:
    """Latent workers that each run one build in a new container of the pool's image
    (``slave/docker/``), with a new random password for each, then remove it."""
    master = settings.buildmaster
    hostconfig = {"network_mode": pool.network_mode} if pool.network_mode else {}
    return [
        DockerWorker(
            name,
            None,
            master_ca=master_ca,
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
