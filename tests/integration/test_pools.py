"""Worker pools on a real master: builders run only on their pools' workers, and a
static machine's worker, started by someone else with its own password, takes builds.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from config.settings import validate
from tests.conftest import StartMaster, local_settings
from tests.harness import SUCCESS, GitRepo, Master, wait_for

pytestmark = pytest.mark.slow


def builder(name: str, pools: list[str]) -> dict[str, Any]:
    return {"name": name, "pools": pools, "steps": [{"kind": "run", "command": ["true"]}]}


def worker_of(master: Master, build: dict[str, Any]) -> str:
    return str(master.properties(build["buildid"])["workername"])


def test_builders_run_only_on_the_workers_of_their_pools(
    repo: GitRepo, start_master: StartMaster
) -> None:
    mac_password = secrets.token_urlsafe(12)
    settings = local_settings(
        repo.url,
        [
            builder("lint", ["small"]),
            builder("functional", ["mac"]),
            builder("any", ["small", "mac"]),
        ],
        workers=[
            {"name": "small", "kind": "local", "count": 2, "password": secrets.token_urlsafe(12)},
            {
                "name": "mac",
                "kind": "static",
                "workers": [{"name": "mac-mini", "password": mac_password}],
            },
        ],
    )
    master = start_master(settings)
    # The static machine's worker: made and started by its owner, not by the master.
    cluster = master.cluster
    cluster.create_worker("mac-mini", mac_password, validate(cluster.settings))
    cluster.start_worker("mac-mini")
    master.wait_workers(3)

    for n in range(3):
        repo.push_commit(f"feature-{n}", {"f.txt": f"{n}\n"})
    builds = master.wait_for_builds(9)

    assert {b["results"] for b in builds} == {SUCCESS}
    by_builder: dict[str, set[str]] = {}
    names = {b["builderid"]: b["name"] for b in master.get("builders")["builders"]}
    for build in builds:
        by_builder.setdefault(names[build["builderid"]], set()).add(worker_of(master, build))
    assert by_builder["lint"] <= {"small-1", "small-2"}
    assert by_builder["functional"] == {"mac-mini"}
    assert by_builder["any"] <= {"small-1", "small-2", "mac-mini"}
    pools = {master.properties(b["buildid"])["pool"] for b in builds}
    assert pools == {"small", "mac"}


def test_a_static_worker_with_a_wrong_password_is_refused(
    repo: GitRepo, start_master: StartMaster
) -> None:
    settings = local_settings(
        repo.url,
        [builder("functional", ["mac"])],
        workers=[
            {"name": "here", "kind": "local", "count": 1, "password": secrets.token_urlsafe(12)},
            {
                "name": "mac",
                "kind": "static",
                "workers": [{"name": "mac-mini", "password": "right"}],
            },
        ],
    )
    master = start_master(settings)
    cluster = master.cluster
    cluster.create_worker("mac-mini", "wrong", validate(cluster.settings))
    cluster.start_worker("mac-mini")

    log = cluster.master_dir / "twistd.log"
    wait_for("the refusal", lambda: "invalid login from user 'mac-mini'" in log.read_text())
    workers = {w["name"]: w for w in master.get("workers")["workers"]}
    assert workers["mac-mini"]["connected_to"] == []
    assert workers["here-1"]["connected_to"]
