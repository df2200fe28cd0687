"""The workers builds run on: EC2 spot latent workers, or local processes."""

from __future__ import annotations

from buildbot.plugins import util, worker
from buildbot.worker.base import AbstractWorker

from config import ec2, userdata
from config.settings import Aws, Settings


def worker_names(settings: Settings) -> list[str]:
    """``worker-1`` .. ``worker-N``: the names workers log in with."""
    return [f"worker-{n}" for n in range(1, settings.workers.count + 1)]


def build(settings: Settings) -> list[AbstractWorker]:
    """The workers of ``workers.kind``."""
    if settings.workers.kind == "ec2":
        assert settings.aws is not None, "the settings check requires aws for ec2 workers"
        return ec2_workers(settings, settings.aws)
    return local_workers(settings)


def local_workers(settings: Settings) -> list[AbstractWorker]:
    """Workers that connect to the master over PB with the shared secret password."""
    password = util.Secret("workers.password")
    return [
        worker.Worker(name, password, max_builds=settings.workers.max_builds)
        for name in worker_names(settings)
    ]


def launch(settings: Settings, aws: Aws, name: str, template: str) -> ec2.Launch:
    """How worker ``name``'s instances start: image, size, network, tags, user data."""
    master = settings.buildmaster
    return ec2.Launch(
        region=aws.region,
        endpoint_url=aws.endpoint_url,
        ami_name=aws.ami_name,
        ami_owners=tuple(aws.ami_owners),
        production_only=aws.ami_production_only,
        instance_type=aws.instance_type,
        max_spot_price=aws.max_spot_price,
        keypair=aws.keypair,
        security_group=aws.security_group,
        subnet_id=aws.subnet_id,
        tags=(("Name", f"buildbot {name}"), ("buildbot-master", master.host)),
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


def ec2_workers(settings: Settings, aws: Aws) -> list[AbstractWorker]:
    """Latent workers, each on a one-time spot instance of the newest worker image.

    An idle worker stops after ``aws.build_wait_timeout``; one whose instance has not
    connected within ``start_timeout + connect_timeout`` of being asked for is given up
    and its instance terminated (Buildbot's missing timer).
    """
    template = userdata.TEMPLATE.read_text(encoding="utf-8")
    token = util.Secret("github.token") if settings.github is not None else None
    return [
        ec2.SpotWorker(
            name,
            launch=launch(settings, aws, name, template),
            access_key_id=util.Secret("aws.access_key_id"),
            secret_access_key=util.Secret("aws.secret_access_key"),
            github_token=token,
            max_builds=settings.workers.max_builds,
            build_wait_timeout=aws.build_wait_timeout,
            missing_timeout=aws.start_timeout + aws.connect_timeout,
        )
        for name in worker_names(settings)
    ]
