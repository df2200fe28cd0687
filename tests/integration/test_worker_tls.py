"""The worker port on a real master speaks TLS only, and workers verify it.

A real worker reaches the master through a relay that records every byte: its build runs,
and neither a line the build printed nor a value its environment carried crosses in the
clear. A plain-text PB client gets no PB from the port, and a worker that trusts another
authority never attaches. One master for the module.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.settings import validate
from config.workers import tls
from local.cluster import LocalCluster
from local.worker import create_worker
from tests.conftest import local_settings
from tests.harness import SUCCESS, GitRepo, Master, wait_for
from tests.tcp_relay import Relay

pytestmark = pytest.mark.slow

SECRET = "env-value-" + secrets.token_hex(8)
# The build prints this line; it is not in the command that asks for it.
LINE = "known-log-line-42"
COMMAND = ["sh", "-c", 'echo "known-log-line-$((6 * 7))"; echo "value: $BUILD_SECRET"']


@dataclass
class Link:
    master: Master
    repo: GitRepo
    relay: Relay
    root: Path
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def link(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Link]:
    root = tmp_path_factory.mktemp("worker-tls")
    repo = GitRepo.started(root / "repo")
    passwords = {name: secrets.token_urlsafe(12) for name in ("remote", "distrustful")}
    steps = [{"kind": "run", "name": "speak", "command": COMMAND, "env": {"BUILD_SECRET": SECRET}}]
    settings = local_settings(
        repo.url,
        [{"name": "speak", "steps": steps}],
        workers=[
            {
                "name": "machines",
                "kind": "static",
                "workers": [{"name": n, "password": p} for n, p in passwords.items()],
            }
        ],
    )
    cluster = LocalCluster(root / "cluster", settings)
    port = settings["buildmaster"]["worker_port"]
    with Relay(port) as relay:
        try:
            cluster.start()
            link = Link(Master(cluster), repo, relay, cluster.root, passwords)
            yield link
        finally:
            cluster.stop()


def test_a_worker_builds_over_tls_and_the_wire_shows_nothing_of_the_build(link: Link) -> None:
    master, cluster = link.master, link.master.cluster
    create_worker(
        cluster.root / "remote",
        "127.0.0.1",
        link.relay.port,  # through the recording relay
        "remote",
        link.passwords["remote"],
        cluster.master_ca(validate(cluster.settings)),
    )
    cluster.start_worker("remote")
    master.wait_workers(1)

    link.repo.push_commit("feature", {"f.txt": "1\n"})
    [build] = master.wait_for_builds(1)

    assert build["results"] == SUCCESS
    log = master.log(build["buildid"], "speak")
    assert LINE in log and SECRET in log  # the build did print both
    streams = link.relay.streams()
    assert streams and all(stream[:1] == b"\x16" for stream in streams if stream)  # TLS
    for stream in streams:
        for known in (LINE, SECRET, link.passwords["remote"], "BUILD_SECRET"):
            assert known.encode() not in stream


def test_a_plain_text_pb_client_gets_no_pb_from_the_port(link: Link) -> None:
    port = link.master.cluster.settings["buildmaster"]["worker_port"]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as plain:
        # What a PB client says once connected: the banana dialect it takes, then the
        # start of its login call.
        plain.sendall(b"\x02\x82pb" + b"\x01\x80\x05\x82login")
        answer = b""
        while chunk := plain.recv(4096):  # the port ends the connection
            answer += chunk
    assert b"pb" not in answer and b"none" not in answer  # a PB server offers its dialects
    assert answer[:1] in (b"", b"\x15")  # nothing, or a TLS alert


def test_a_worker_trusting_another_authority_never_attaches(link: Link, tmp_path: Path) -> None:
    master, cluster = link.master, link.master.cluster
    other = tls.made(tmp_path / "other", ["127.0.0.1"])
    assert other.ca is not None
    directory = create_worker(
        cluster.root / "distrustful",
        "127.0.0.1",
        cluster.settings["buildmaster"]["worker_port"],
        "distrustful",
        link.passwords["distrustful"],
        other.ca.read_text(),
    )
    cluster.start_worker("distrustful")

    log = directory / "twistd.log"

    def failed_twice() -> bool:
        # Each failed attempt (its handshake refused by the worker) schedules another.
        return log.exists() and log.read_text().count("Scheduling retry") >= 2

    wait_for("the worker's second failed attempt", failed_twice)
    workers = {w["name"]: w for w in master.get("workers")["workers"]}
    assert workers["distrustful"]["connected_to"] == []
    said = (cluster.master_dir / "twistd.log").read_text()
    assert "'distrustful'" not in said  # it never got as far as logging in
