"""An ec2 pool's workers: how each launches its instances, from the pool and ``aws``."""

from __future__ import annotations

from buildbot.plugins import util
from buildbot.worker.base import AbstractWorker

from config.settings import Aws, Ec2Pool, Settings, worker_names
from config.workers import userdata
from config.workers.ec2.launch import Launch
from config.workers.ec2.worker import SpotWorker


def launch(
    settings: Settings, aws: Aws, pool: Ec2Pool, name: str, template: str, master_ca: str = ""
) -> Launch:
    """How worker ``name``'s instances start: image, sizes, networks, market, user data."""
    master = settings.buildmaster
    return Launch(
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
        # An untrusted pool's instances get no role but their pool's own: the shared one
        # may write where trusted builds read (the wheelhouse, say).
        instance_profile=pool.instance_profile
        or (None if pool.untrusted else aws.instance_profile),
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
            ("MASTER_CA", master_ca),
            ("WORKER_NAME", name),
            ("WHEELHOUSE_URL", aws.wheelhouse_url or ""),
            ("WORKER_TAC", userdata.worker_tac(settings)),
        ),
    )


def ec2_workers(
    settings: Settings, aws: Aws, pool: Ec2Pool, master_ca: str = ""
) -> list[AbstractWorker]:
    """Latent workers, each on a one-time instance of the newest worker image.

    An idle worker stops after the pool's ``idle_timeout`` (by default
    ``aws.build_wait_timeout``); one whose instance has not connected within
    ``start_timeout + connect_timeout`` of being asked for is given up and its instance
    terminated (Buildbot's missing timer).
    """
    template = userdata.TEMPLATE.read_text(encoding="utf-8")
    keys = aws.access_key_id is not None
    return [
        SpotWorker(
            name,
            launch=launch(settings, aws, pool, name, template, master_ca),
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
