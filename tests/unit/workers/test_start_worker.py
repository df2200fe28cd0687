"""``slave/docker/start-worker``, run by sh with a stand-in buildbot-worker: the container's
worker connects over TLS trusting the authority its environment gave, and forgets it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "slave" / "docker" / "start-worker"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"


def start_worker(tmp_path: Path, ca: str) -> list[str]:
    """The stand-in's calls, one line each: its arguments, then the environment it saw."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    stand_in = bin_dir / "buildbot-worker"
    stand_in.write_text(
        f'#!/bin/sh\necho "$*" >>{calls}\nenv | sort | tr "\\n" " " >>{calls}\necho >>{calls}\n'
    )
    stand_in.chmod(0o755)
    script = tmp_path / "start-worker"
    script.write_text(SCRIPT.read_text().replace("/opt/buildbot-worker/bin", str(bin_dir)))
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "WORKERNAME": "box-1",
        "WORKERPASS": "pw",
        "BUILDMASTER": "172.17.0.1",
        "BUILDMASTER_PORT": "9989",
        "BUILDMASTER_PROTOCOL": "pb",
        "BUILDMASTER_CA": ca,
    }
    subprocess.run(["sh", str(script)], env=environment, check=True)
    return calls.read_text().splitlines()


def test_the_container_connects_by_tls_trusting_the_given_authority(tmp_path: Path) -> None:
    create, create_env, start, start_env = start_worker(tmp_path, CA)
    trust = tmp_path / "master-ca"
    assert create.startswith(
        f"create-worker --relocatable --umask=0o22 "
        f"--connection-string=tls:host=172.17.0.1:port=9989:trustRoots={trust} "
    )
    assert create.endswith(" 172.17.0.1:9989 box-1 pw")
    assert (trust / "ca.pem").read_text() == CA + "\n"
    assert start == f"start --nodaemon {tmp_path}/worker"
    for seen in (create_env, start_env):  # what build steps would inherit
        assert "BUILDMASTER" not in seen and "WORKERPASS" not in seen


def test_without_an_authority_the_system_ones_are_trusted(tmp_path: Path) -> None:
    create = start_worker(tmp_path, "")[0]
    assert "--connection-string=tls:host=172.17.0.1:port=9989 " in create
    assert not (tmp_path / "master-ca").exists()
