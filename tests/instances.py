"""EC2 instances on moto_server played by real workers, for masters with ec2 pools.

moto starts no machines. :class:`InstancePlayer` does what an instance would: for each
instance of the master's that is running, it reads the user data the master gave it and
starts a real ``buildbot-worker`` with the master, its certificate authority, name and
password found there (and the workers' end of the mends, as ``cloud-init.sh`` appends
it); when the instance is
terminated, its worker process is killed, as the machine would go. So an ec2 pool with
``idle_timeout: 0`` really gives each build a new worker that is gone after it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from local.worker import create_worker
from tests.harness import MOTO_REGION, Moto

BIN = Path(sys.executable).parent


def assignments(script: str) -> dict[str, str]:
    """The ``NAME=value`` assignments that open a rendered cloud-init.sh, unquoted as bash
    would (a value may span lines)."""
    lexer = shlex.shlex(script.split("\nWORKER_USER=")[0], posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = [word.split("=", 1) for word in lexer if re.match(r"^[A-Z_]+=", word)]
    return {name: value for name, value in words}


def create_from_user_data(directory: Path, values: dict[str, str]) -> Path:
    """The worker ``cloud-init.sh`` makes from its values (``assignments``): over TLS,
    trusting the authority its user data carries."""
    return create_worker(
        directory,
        values["MASTER_HOST"],
        int(values["MASTER_PORT"]),
        values["WORKER_NAME"],
        values["WORKER_PASSWORD"],
        values["MASTER_CA"],
        values["WORKER_TAC"],
    )


def user_data(client: Any, instance_id: str) -> str:
    answer = client.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    return base64.b64decode(answer["UserData"]["Value"]).decode()


class InstancePlayer:
    """Plays every instance of ``moto`` with a real worker below ``root``, until stopped."""

    def __init__(self, moto: Moto, root: Path) -> None:
        self.client = moto.client("ec2")
        self.root = root
        self.played: dict[str, subprocess.Popen[bytes]] = {}
        """Instance id -> its worker process."""
        self.ended: list[str] = []
        """The instances whose workers were stopped because the instance went."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> InstancePlayer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop playing, and end every worker still playing an instance."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        for instance_id in list(self.played):
            self._end(instance_id)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                found = self.client.describe_instances()["Reservations"]
            except Exception:  # moto restarting between tests: look again
                continue
            states = {i["InstanceId"]: i["State"]["Name"] for r in found for i in r["Instances"]}
            for instance_id, state in states.items():
                if state == "running" and instance_id not in self.played:
                    self._play(instance_id)
            for instance_id in list(self.played):
                if states.get(instance_id, "terminated") != "running":
                    self._end(instance_id)
                    self.ended.append(instance_id)

    def _play(self, instance_id: str) -> None:
        values = assignments(user_data(self.client, instance_id))
        directory = self.root / instance_id
        self.root.mkdir(parents=True, exist_ok=True)
        create_from_user_data(directory, values)
        self.played[instance_id] = subprocess.Popen(
            [str(BIN / "buildbot-worker"), "start", "--nodaemon", str(directory)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _end(self, instance_id: str) -> None:
        process = self.played.pop(instance_id)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def moto_aws(moto: Moto, **options: Any) -> dict[str, Any]:
    """An ``aws`` section for ``moto``, with the security group and key pair it names
    made there (and the images of tests/moto_amis.json, which moto has)."""
    ec2 = moto.client("ec2")
    ec2.create_security_group(GroupName="ssh", Description="ssh to workers")
    ec2.create_key_pair(KeyName="hybrid-master")
    return {
        "region": MOTO_REGION,
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "endpoint_url": moto.url,
        "ami_owners": ["111122223333"],
        "max_spot_price": 0.1,
        "keypair": "hybrid-master",
        "security_group": "ssh",
        "start_timeout": 60,
        "connect_timeout": 120,
        **options,
    }


def untrusted_pool(moto: Moto, name: str = "forks") -> dict[str, Any]:
    """The settings of an ec2 pool on ``moto`` that takes untrusted builds, one instance
    per build (``idle_timeout: 0``), and of the ``aws`` section it needs."""
    return {
        "pool": {"kind": "ec2", "name": name, "count": 1, "idle_timeout": 0, "untrusted": True},
        "aws": moto_aws(moto),
    }
