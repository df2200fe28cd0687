"""A buildbot-worker directory that connects to a master over TLS, verifying its
certificate: what ``slave/cloud-init.sh`` and ``slave/docker/start-worker`` do on a
machine, done here for the workers that run beside the master (``make run``, the tests
and the bench)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from config.workers import tls

BIN = Path(sys.executable).parent


def create_worker(
    directory: Path,
    host: str,
    port: int,
    name: str,
    password: str,
    ca_pem: str,
    tac: str = "",
) -> Path:
    """Make the worker ``directory`` (idempotent): it trusts ``ca_pem`` (its own copy, in
    ``master-ca/``; '' for the system's authorities) and appends ``tac`` to its
    ``buildbot.tac``."""
    if (directory / "buildbot.tac").exists():
        return directory
    trust = None
    if ca_pem:
        trust = directory / "master-ca"
        trust.mkdir(parents=True, exist_ok=True)
        (trust / "ca.pem").write_text(ca_pem)
    subprocess.run(
        [
            str(BIN / "buildbot-worker"),
            "create-worker",
            "--relocatable",
            f"--connection-string={tls.connection_string(host, port, trust)}",
            str(directory),
            f"{host}:{port}",
            name,
            password,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if tac:
        with (directory / "buildbot.tac").open("a") as out:
            out.write(tac + "\n")
    return directory
