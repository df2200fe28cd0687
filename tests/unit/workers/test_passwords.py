"""Latent workers' passwords come from ``secrets``, new for each machine; the worker port
sees the current one at each login."""

from __future__ import annotations

import random

from buildbot.process.properties import Properties
from buildbot.worker.latent import AbstractLatentWorker

from config.workers.docker import DockerWorker
from config.workers.ec2.worker import SpotWorker
from config.workers.passwords import Configured, RenewablePassword, RenewedPasswords


def test_buildbots_own_latent_passwords_follow_the_random_module() -> None:
    """Why ours exist: upstream's are predictable from ``random``'s state."""
    random.seed(1)
    first = AbstractLatentWorker._generate_random_password(None)
    random.seed(1)
    assert AbstractLatentWorker._generate_random_password(None) == first


def rendered(value: object) -> object:
    result: list[object] = []
    Properties().render(value).addCallback(result.append)
    return result[0]


def test_the_configured_password_renders_to_what_the_worker_port_renders_at_login() -> None:
    password = RenewablePassword()
    registered = rendered(Configured(password))  # the worker, at (re)configuration
    assert registered is password
    first = rendered(registered)  # the worker port, at a login
    assert first == password.value and len(str(first)) >= 32
    random.seed(1)
    password.renew()
    assert rendered(registered) == password.value != first
    assert password.value not in repr(password)


def test_a_docker_workers_container_gets_the_password_drawn_for_it() -> None:
    worker = DockerWorker(
        "docker-1", None, master_ca="", docker_host="unix:///nowhere", image="i", masterFQDN="m:1"
    )
    worker.masterFQDN, worker.master_protocol = "m:1", "pb"  # as reconfigService sets them
    before = worker.createEnvironment()["WORKERPASS"]
    drawn = worker.machine_password()
    assert worker.createEnvironment()["WORKERPASS"] == drawn != before
    worker.forget_password()
    assert worker.renewable_password.value not in (before, drawn)


def test_every_latent_worker_kind_of_ours_has_them() -> None:
    assert issubclass(DockerWorker, RenewedPasswords)
    assert issubclass(SpotWorker, RenewedPasswords)
