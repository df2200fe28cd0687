"""Latent workers' passwords come from ``secrets``, new for each machine; the worker port
sees the current one at each login."""

from __future__ import annotations

import random
from types import SimpleNamespace

from buildbot.process.properties import Properties
from buildbot.worker.latent import AbstractLatentWorker
from buildbot.worker.protocols.manager.pb import Dispatcher
from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer

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


def test_buildbots_worker_port_renders_the_registered_password_at_each_login() -> None:
    """The canary of what :class:`RenewedPasswords` relies on: fails if Buildbot's worker
    port stops rendering a worker's registered password at each login."""
    password = RenewablePassword()
    port = Dispatcher("tcp:0", "tcp:0")  # not listening: its login check only
    port.register("worker-1", password, None)

    def logs_in(offered: str) -> object:
        port.parent = SimpleNamespace(master=SimpleNamespace(initLock=defer.DeferredLock()))
        found: list[object] = []
        d = port.requestAvatarId(UsernamePassword(b"worker-1", offered.encode()))
        d.addCallbacks(lambda _: True, lambda failure: failure.trap(UnauthorizedLogin) and False)
        d.addCallback(found.append)
        return found[0]

    first = password.value
    assert logs_in(first) is True
    password.renew()
    assert logs_in(first) is False
    assert logs_in(password.value) is True


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
