"""A docker pool on a real dockerd: each build in a new container of the worker image,
removed after its build, and no password in a build's environment.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import SUCCESS, GitRepo, Master, free_port, wait_for

pytestmark = pytest.mark.slow

# A build says whether its container ran a build before, and shows its environment.
# (printf's pieces keep the words out of the command line the log also shows.)
LOOK = (
    "if test -e $HOME/seen; then printf 'used-%s' before; else printf 'new-%s' container; fi;"
    " echo; touch $HOME/seen; env"
)
BUILDERS = [
    {"name": "throwaway", "steps": [{"kind": "run", "name": "look", "command": ["sh", "-c", LOOK]}]}
]


def containers(docker: list[str]) -> list[str]:
    """The pool's containers, running or not."""
    listed = subprocess.run(
        [*docker, "ps", "--all", "--quiet", "--filter", "name=buildbot-docker-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


@pytest.fixture
def served(repo: GitRepo) -> Iterator[str]:
    """The test repository over git's own protocol on 127.0.0.1, as a host serves it: the
    containers' user does not own the test's files, and git refuses to read them."""
    port = free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--export-all",
            "--reuseaddr",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={repo.bare.parent}",
            str(repo.bare.parent),
        ]
    )
    try:
        url = f"git://127.0.0.1:{port}/{repo.bare.name}"
        wait_for(
            "git daemon",
            lambda: subprocess.run(["git", "ls-remote", url], capture_output=True).returncode == 0,
        )
        yield url
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def test_each_build_runs_in_a_new_container_removed_after_it(
    repo: GitRepo, served: str, start_master: StartMaster, docker: list[str], worker_image: str
) -> None:
    socket = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    settings = local_settings(
        served,
        BUILDERS,
        workers=[
            {
                "name": "docker",
                "kind": "docker",
                "count": 1,
                "image": worker_image,
                "docker_host": socket,
                # The test master listens on 127.0.0.1 only: the containers share the
                # host's network to reach it.
                "network_mode": "host",
            }
        ],
    )
    master: Master = start_master(settings)

    for n in range(2):
        repo.push_commit(f"feature-{n}", {"f.txt": f"{n}\n"})
        master.wait_for_builds(n + 1, timeout=240)
    builds = master.builds(complete="true", order="buildid")

    assert [b["results"] for b in builds] == [SUCCESS, SUCCESS]
    logs = [master.log(b["buildid"], "look") for b in builds]
    assert [("new-container" in log, "used-before" in log) for log in logs] == [(True, False)] * 2
    # start-worker took the worker's password out of the environment steps inherit.
    assert not any("WORKERPASS" in log or "BUILDMASTER" in log for log in logs)
    assert {master.properties(b["buildid"])["pool"] for b in builds} == {"docker"}
    wait_for("the containers to be removed", lambda: containers(docker) == [], timeout=120)
