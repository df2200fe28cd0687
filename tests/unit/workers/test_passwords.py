"""Latent workers' passwords come from ``secrets`` and stay while a machine carries them."""

from __future__ import annotations

import random

from buildbot.worker.latent import AbstractLatentWorker, States

from config.workers.docker import DockerWorker
from config.workers.ec2.worker import SpotWorker
from config.workers.passwords import StrongPasswords


def test_buildbots_own_latent_passwords_follow_the_random_module() -> None:
    """Why ours exist: upstream's are predictable from ``random``'s state."""
    random.seed(1)
    first = AbstractLatentWorker._generate_random_password(None)
    random.seed(1)
    assert AbstractLatentWorker._generate_random_password(None) == first


def test_ours_are_long_and_unpredictable_from_random() -> None:
    drawn = []
    for _ in range(2):
        random.seed(1)
        worker = DockerWorker.__new__(DockerWorker)
        worker.state, worker.password = States.NOT_SUBSTANTIATED, None
        drawn.append(worker.getRandomPass())
    assert drawn[0] != drawn[1]
    assert all(len(password) >= 32 for password in drawn)


def test_a_worker_whose_machine_runs_keeps_its_password() -> None:
    worker = SpotWorker.__new__(SpotWorker)
    worker.password = "carried-by-the-user-data"
    for state in (States.SUBSTANTIATING, States.SUBSTANTIATED, States.INSUBSTANTIATING):
        worker.state = state
        assert worker.getRandomPass() == "carried-by-the-user-data"
    worker.state = States.SHUT_DOWN
    assert worker.getRandomPass() != "carried-by-the-user-data"


def test_every_latent_worker_kind_of_ours_has_them() -> None:
    assert issubclass(DockerWorker, StrongPasswords)
    assert issubclass(SpotWorker, StrongPasswords)
