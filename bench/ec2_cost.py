"""What a burst of builds costs on EC2 workers: instance-seconds per build beside the
builds' own seconds.

A real master with an ec2 pool of two workers on ``moto_server``. moto starts no
machines, so the bench plays each instance as its user data says (as
``tests/integration/test_ec2_master.py`` does): a real ``buildbot-worker`` with the name
and password found there. A burst of branches is pushed; once every instance has idled
out and been terminated, ``/metrics`` says how many instance-seconds the pool ran, which
is set beside the seconds its builds ran (the difference: boots, connecting, idling).
"""

from __future__ import annotations

import base64
import subprocess
import threading
from pathlib import Path
from typing import Any

from bench.report import Row
from local.cluster import BIN, LocalCluster
from tests.harness import GitRepo, Master, Moto, wait_for
from tests.integration.test_ec2_master import assignments, ec2_master_settings, instances
from tests.integration.test_metrics import scrape

IDLE = 3
"""Seconds an idle worker waits for the next build before its instance ends."""
WORKERS = 2


def _play(cluster: LocalCluster, ec2: Any, instance: dict[str, Any]) -> None:
    """Start the worker the instance's user data describes."""
    data = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
    values = assignments(base64.b64decode(data["UserData"]["Value"]).decode())
    directory = cluster.root / instance["InstanceId"]
    subprocess.run(
        [
            str(BIN / "buildbot-worker"),
            "create-worker",
            str(directory),
            f"{values['MASTER_HOST']}:{values['MASTER_PORT']}",
            values["WORKER_NAME"],
            values["WORKER_PASSWORD"],
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    cluster.processes.append(
        subprocess.Popen(
            [str(BIN / "buildbot-worker"), "start", "--nodaemon", str(directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    )


def _player(cluster: LocalCluster, ec2: Any, stop: threading.Event) -> None:
    """Play every instance that runs, once, until ``stop``."""
    played: set[str] = set()
    while not stop.wait(0.2):
        for instance in instances(ec2):
            if instance["State"]["Name"] == "running" and instance["InstanceId"] not in played:
                played.add(instance["InstanceId"])
                _play(cluster, ec2, instance)


def measure(root: Path, builds: int) -> list[Row]:
    """A burst of ``builds`` branches on two EC2 workers; instance-seconds per build."""
    root.mkdir(parents=True, exist_ok=True)
    moto = Moto.start(root / "moto_server.log")
    cluster: LocalCluster | None = None
    stop = threading.Event()
    try:
        ec2 = moto.client("ec2")
        repo = GitRepo(root / "repo")
        repo.commit({"README": "bench\n"}, "initial")
        repo.push()
        document = ec2_master_settings(
            repo,
            moto,
            count=WORKERS,
            builders=[{"name": "build", "steps": [{"kind": "run", "command": ["sleep", "1"]}]}],
            build_wait_timeout=IDLE,
        )
        cluster = LocalCluster(root / "cluster", document)
        cluster.start()
        master = Master(cluster)
        player = threading.Thread(target=_player, args=(cluster, ec2, stop), daemon=True)
        player.start()

        start = repo.git("rev-parse", "HEAD")
        names = [f"cost-{n}" for n in range(builds)]
        for name in names:
            repo.git("checkout", "--quiet", "-B", name, start)
            repo.commit({f"{name}.txt": f"{name}\n"}, f"work on {name}")
        repo.git("push", "--quiet", "--force", "origin", *names)
        done = master.wait_for_builds(builds, timeout=600)
        wait_for(
            "every instance to end",
            lambda: all(i["State"]["Name"] == "terminated" for i in instances(ec2)),
            timeout=300,
        )
        spent = sum(
            value
            for name, value in scrape(master, login=None).items()
            if name.startswith("buildbot_ec2_instance_seconds_total")
        )
    finally:
        stop.set()
        if cluster is not None:
            cluster.stop()
        moto.stop()
    own = sum(b["complete_at"] - b["started_at"] for b in done)
    return [
        Row(
            f"ec2 burst of {builds}: instance-seconds per build",
            spent / builds,
            "s/build",
            baseline=own / builds,
            baseline_name="the builds' own seconds",
            target=f"idle timeout {IDLE} s",
        )
    ]
