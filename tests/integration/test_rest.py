"""The REST API survives clients that hang up before their answer (mends/rest_writes.py)."""

from __future__ import annotations

import socket
import struct

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import GitRepo
from tests.integration.test_build import CHECKS

pytestmark = pytest.mark.slow


def hang_up_early(port: int, path: str) -> None:
    """Ask for ``path``, and reset the connection as soon as the answer begins."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        sock.recv(1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_clients_hanging_up_do_not_break_the_web_server(
    repo: GitRepo, start_master: StartMaster
) -> None:
    master = start_master(local_settings(repo.url, CHECKS))
    port = master.cluster.settings["buildmaster"]["web_port"]

    for _ in range(300):
        hang_up_early(port, "/api/v2/builders")
        hang_up_early(port, "/api/v2/workers")

    for _ in range(20):
        assert master.builder("checks")["name"] == "checks"
    log = (master.cluster.master_dir / "twistd.log").read_text()
    assert "Unhandled Error" not in log
    assert "object has no attribute 'write'" not in log
