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

from pathlib import Path

from bench.report import Row
from local.cluster import LocalCluster
from tests.harness import GitRepo, Master, Moto, wait_for
from tests.instances import InstancePlayer
from tests.integration.test_ec2_master import ec2_master_settings, instances
from tests.integration.test_metrics import scrape

IDLE = 3
"""Seconds an idle worker waits for the next build before its instance ends."""
WORKERS = 2


def measure(root: Path, builds: int) -> list[Row]:
    """A burst of ``builds`` branches on two EC2 workers; instance-seconds per build."""
    root.mkdir(parents=True, exist_ok=True)
    moto = Moto.start(root / "moto_server.log")
    cluster: LocalCluster | None = None
    player = InstancePlayer(moto, root / "instances")
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
        player.stop()
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
