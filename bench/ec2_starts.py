"""How long the index page waits while EC2 instances start on a slow AWS.

A real master with an ec2 pool on ``moto_server`` behind :class:`tests.fault_proxy.
FaultProxy`, which holds every AWS call for ``delay`` seconds; real ``buildbot-worker``
processes play the instances (:class:`tests.instances.InstancePlayer`), as in
``tests/integration/test_ec2_faults.py``. One push starts one build on each of
``instances`` builders, so as many instances start at once; the index page is asked
again and again until every start has made its last AWS call (the spot price of its
instance). The longest answer is the figure: the starts' AWS calls must not hold the
threads the web needs.
"""

from __future__ import annotations

from pathlib import Path

from bench.index_page import GOAL, watching
from bench.report import Row
from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.fault_proxy import FaultProxy
from tests.harness import GitRepo, Master, Moto, wait_for
from tests.instances import InstancePlayer, moto_aws
from tests.integration.test_ec2_faults import checks, pool

FULL = (12, 2.0)
"""Instances started at once, and the seconds each AWS call is held."""
QUICK = (2, 0.05)


def measure(root: Path, instances: int, delay: float) -> list[Row]:
    """The index page's longest wait while ``instances`` start, each AWS call ``delay`` s."""
    root.mkdir(parents=True, exist_ok=True)
    moto = Moto.start(root / "moto_server.log")
    player = InstancePlayer(moto, root / "instances")
    try:
        repo = GitRepo(root / "repo")
        repo.commit({"README": "bench\n"}, "initial")
        repo.push()
        with FaultProxy(moto.url) as proxy:
            document = local_settings(
                repo.url,
                [checks(f"start-{n}", "big") for n in range(1, instances + 1)],
                workers=[pool("big", instances)],
                aws=moto_aws(moto, endpoint_url=proxy.url),
            )
            cluster = LocalCluster(root / "cluster", document)
            try:
                cluster.start()
                master = Master(cluster)
                player.start()
                proxy.delay = delay
                with watching(master.url) as answers:
                    repo.commit({"a.txt": "a\n"}, "start them all")
                    repo.push()
                    wait_for(
                        "every start's last AWS call",
                        lambda: proxy.count("DescribeSpotPriceHistory") >= instances,
                        timeout=300,
                    )
                proxy.delay = 0.0
                master.wait_for_builds(instances, timeout=300)
            finally:
                cluster.stop()
    finally:
        player.stop()
        moto.stop()
    return [
        Row(
            f"ec2: index page's longest wait while {instances} instances start",
            max(answers),
            "s",
            target=f"{GOAL}; each AWS call {delay:g} s",
        )
    ]
