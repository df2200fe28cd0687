"""Fixtures: git repositories and real masters that are always stopped."""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.settings import validate, worker_names
from local.cluster import LocalCluster, local_pools
from tests.harness import Crossbar, GitRepo, Master, Moto, Postgres, free_port
from tests.instances import InstancePlayer, untrusted_pool

StartMaster = Callable[..., Master]


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A bare repository with one commit on master, and a work tree to push from."""
    return GitRepo.started(tmp_path / "repo")


MENDS_OFF = os.environ.get("TEST_MENDS") == "off"
"""``TEST_MENDS=off``: every test master runs stock Buildbot (``buildmaster.mends: false``);
``make test`` runs the core build, webhook and EC2 suites so too."""


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
            "mends": not MENDS_OFF,
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
            pools = local_pools(validate(settings))
            master.wait_workers(sum(len(worker_names(pool)) for pool in pools))
        return master

    try:
        yield start
    finally:
        for cluster in clusters:
            cluster.stop()


@pytest.fixture
def forks(moto: Moto, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The settings of a pool for untrusted builds (an ec2 pool on moto, an instance per
    build), while a real worker plays each of its instances."""
    with InstancePlayer(moto, tmp_path / "instances"):
        yield untrusted_pool(moto)


def with_untrusted_pool(document: dict[str, Any], forks: dict[str, Any]) -> dict[str, Any]:
    """``document`` (of :func:`local_settings`) with its local pool named ``trusted`` and
    the untrusted pool of ``forks`` beside it."""
    trusted = {**document["workers"], "name": "trusted"}
    return {**document, "workers": [trusted, forks["pool"]], "aws": forks["aws"]}


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


# --- one summary line per reliability area ----------------------------------------------
# A suite calls `summary("webhook abuse", tries=..., refused=..., lost=...)`; the line
# travels in the test report's user_properties (so it also crosses from xdist workers) and
# is printed at the end of the run.

Summary = Callable[..., None]
_SUMMARIES: list[str] = []


@pytest.fixture
def summary(request: pytest.FixtureRequest) -> Summary:
    def record(area: str, *, tries: int, refused: int, lost: int) -> None:
        line = f"{area}: {tries} tries, {refused} refused, {lost} lost"
        request.node.user_properties.append(("summary", line))

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _SUMMARIES.extend(str(v) for k, v in report.user_properties if k == "summary")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SUMMARIES:
        terminalreporter.section("reliability and security")
        for line in _SUMMARIES:
            terminalreporter.write_line(line)
