"""The workers builds run on, pool by pool: local processes, the team's own machines
(static), EC2 latent workers, or a container per build (docker)."""

from __future__ import annotations

from buildbot.plugins import util, worker
from buildbot.worker.base import AbstractWorker

from config import ec2, userdata
from config.settings import (
    AnyPool,
    Aws,
    DockerPool,
    Ec2Pool,
    LocalPool,
    Settings,
    StaticPool,
    worker_names,
)


def names(pools: list[AnyPool]) -> list[str]:
    """Every worker name of ``pools``, pool by pool."""
    return [name for pool in pools for name in worker_names(pool)]


def build(settings: Settings) -> list[AbstractWorker]:
    """The workers of every pool."""
    built: list[AbstractWorker] = []
    for index, pool in enumerate(settings.workers):
        secret = f"workers.{index}"
        if isinstance(pool, Ec2Pool):
            assert settings.aws is not None, "the settings check requires aws for ec2 pools"
            built += ec2_workers(settings, settings.aws, pool)
        elif isinstance(pool, StaticPool):
            built += static_workers(pool, secret)
        elif isinstance(pool, DockerPool):
            built += docker_workers(settings, pool)
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


def launch(settings: Settings, aws: Aws, pool: Ec2Pool, name: str, template: str) -> ec2.Launch:
    """How worker ``name``'s instances start: image, sizes, networks, market, user data."""
    master = settings.buildmaster
    return ec2.Launch(
        region=aws.region,
        endpoint_url=aws.endpoint_url,
        ami_name=pool.ami_name or aws.ami_name,
        ami_owners=tuple(pool.ami_owners or aws.ami_owners),
        production_only=aws.ami_production_only,
        instance_types=tuple(pool.instance_types or [aws.instance_type]),
        subnets=tuple(pool.subnets or [aws.subnet_id]),
        market=pool.market,
        max_spot_price=pool.max_spot_price or aws.max_spot_price,
        capacity_skip=aws.capacity_skip,
        instance_profile=pool.instance_profile or aws.instance_profile,
        keypair=aws.keypair,
        security_group=aws.security_group,
        pool=pool.name,
        on_demand_prices=tuple(sorted(aws.on_demand_prices.items())),
        tags=(
            ("Name", f"buildbot {name}"),
            ("buildbot-master", master.host),
            ("buildbot-pool", pool.name),
            *sorted(pool.tags.items()),
        ),
        start_timeout=aws.start_timeout,
        api_attempts=aws.api_attempts,
        template=template,
        values=(
            ("MASTER_HOST", master.host),
            ("MASTER_PORT", str(master.worker_port)),
            ("WORKER_NAME", name),
            ("WHEELHOUSE_URL", aws.wheelhouse_url or ""),
            ("NODELAY_TAC", userdata.worker_tac(settings)),
        ),
    )


def ec2_workers(settings: Settings, aws: Aws, pool: Ec2Pool) -> list[AbstractWorker]:
    """Latent workers, each on a one-time instance of the newest worker image.

    An idle worker stops after the pool's ``idle_timeout`` (by default
    ``aws.build_wait_timeout``); one whose instance has not connected within
    ``start_timeout + connect_timeout`` of being asked for is given up and its instance
    terminated (Buildbot's missing timer).
    """
    template = userdata.TEMPLATE.read_text(encoding="utf-8")
    keys = aws.access_key_id is not None
    return [
        ec2.SpotWorker(
            name,
            launch=launch(settings, aws, pool, name, template),
            access_key_id=util.Secret("aws.access_key_id") if keys else None,
            secret_access_key=util.Secret("aws.secret_access_key") if keys else None,
            max_builds=pool.max_builds,
            build_wait_timeout=(
                aws.build_wait_timeout if pool.idle_timeout is None else pool.idle_timeout
            ),
            missing_timeout=aws.start_timeout + aws.connect_timeout,
            properties={"pool": pool.name},
        )
        for name in worker_names(pool)
    ]
