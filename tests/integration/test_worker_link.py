"""Both ends of a worker's connection to its master send at once (no Nagle's algorithm).

The socket option is read from the real master and worker processes: each process's
connection socket is duplicated into the test with ``pidfd_getfd(2)`` and asked for
``TCP_NODELAY``, the option ``mends/nodelay.py`` and ``mends/nodelay_worker.tac`` set.
Stock Buildbot is measured too: the canary of that mend.
"""

from __future__ import annotations

import ctypes
import os
import socket
from pathlib import Path

from tests.conftest import StartMaster, local_settings
from tests.harness import GitRepo

CHECKS = [{"name": "checks", "steps": [{"kind": "run", "command": ["true"]}]}]
SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture


def _socket_inodes(pid: int, port: int) -> set[int]:
    """Inodes of the process's TCP sockets whose local or remote port is ``port``."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            if port in (local, remote) and fields[3] == "01":  # ESTABLISHED
                inodes.add(int(fields[9]))
    return inodes


def nodelay(pid: int, port: int) -> list[bool]:
    """TCP_NODELAY of each established connection of process ``pid`` on ``port``."""
    inodes = _socket_inodes(pid, port)
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    found = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(fd), 0)
                if copy < 0:
                    raise OSError(ctypes.get_errno(), "pidfd_getfd")
                with socket.socket(fileno=copy) as sock:
                    found.append(bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
    finally:
        os.close(pidfd)
    return found


def link_nodelay(repo: GitRepo, start_master: StartMaster, mends: bool) -> tuple[list[bool], ...]:
    """TCP_NODELAY on the master's and the worker's end of their link."""
    settings = local_settings(repo.url, CHECKS, buildmaster={"mends": mends})
    master = start_master(settings)
    master_process, worker_process = master.cluster.processes
    port = settings["buildmaster"]["worker_port"]
    return nodelay(master_process.pid, port), nodelay(worker_process.pid, port)


def test_master_and_worker_both_send_without_delay(
    repo: GitRepo, start_master: StartMaster
) -> None:
    assert link_nodelay(repo, start_master, mends=True) == ([True], [True])


def test_upstream_leaves_nagle_on_at_both_ends(repo: GitRepo, start_master: StartMaster) -> None:
    """Canary of ``mends/nodelay.py``: fails once Buildbot sends at once by itself."""
    assert link_nodelay(repo, start_master, mends=False) == ([False], [False])
