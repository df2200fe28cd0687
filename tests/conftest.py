"""Fixtures: git repositories and real masters that are always stopped."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.local import LocalCluster
from tests.harness import Crossbar, GitRepo, Master, Moto, Postgres, free_port

StartMaster = Callable[..., Master]


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A bare repository with one commit on master, and a work tree to push from."""
    repository = GitRepo(tmp_path / "repo")
    repository.commit({"README": "hello\n"}, "initial")
    repository.push()
    return repository


def local_settings(
    repository: str, builders: list[dict[str, Any]], **sections: Any
) -> dict[str, Any]:
    """Settings for a test master on free loopback ports, polling ``repository`` quickly."""
    document: dict[str, Any] = {
        "buildmaster": {
            "host": "127.0.0.1",
            "web_port": free_port(),
            "worker_port": free_port(),
            "title": "test master",
        },
        "auth": {"users": {"admin": "admin-pw", "reader": "reader-pw"}, "admins": ["admin"]},
        "workers": {"kind": "local", "count": 1, "password": secrets.token_urlsafe(12)},
        "changes": {"kind": "poll", "interval": 1},
        "tree_stable_timer": 1,
        "projects": [{"name": "demo", "repository": repository, "builders": builders}],
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    return document


@pytest.fixture
def start_master(tmp_path: Path) -> Iterator[StartMaster]:
    """Start a real master and its real workers from a settings dict; stop them after."""
    clusters: list[LocalCluster] = []

    def start(settings: dict[str, Any], wait_workers: bool = True) -> Master:
        cluster = LocalCluster(tmp_path / f"master-{len(clusters)}", copy.deepcopy(settings))
        clusters.append(cluster)
        cluster.start()
        master = Master(cluster)
        if wait_workers:
            master.wait_workers(settings["workers"]["count"])
        return master

    try:
        yield start
    finally:
        for cluster in clusters:
            cluster.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server for the session; each test makes its own database."""
    server = Postgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    server = Moto.start(tmp_path_factory.mktemp("moto") / "moto_server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def crossbar(tmp_path: Path) -> Iterator[Crossbar]:
    """A crossbar router for Buildbot's wamp message queue."""
    router = Crossbar(tmp_path / "crossbar")
    router.start()
    try:
        yield router
    finally:
        router.stop()


@pytest.fixture
def moto(moto_session: Moto) -> Moto:
    """A running moto_server, emptied for this test."""
    moto_session.reset()
    return moto_session
