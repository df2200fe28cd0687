"""A real master's EC2 workers against a slow and failing AWS: the web stays live, passing
faults are ridden out, nothing is left running, and leaks from before are swept.

One master for the module, with two ec2 pools on moto_server behind
:class:`tests.fault_proxy.FaultProxy` (which slows every call down or refuses some), real
``buildbot-worker`` processes playing the instances (:class:`tests.instances.
InstancePlayer`), and a local Zulip that records the ops stream.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from config.workers.ec2.master_id import MASTER_ID_TAG, master_id
from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.fault_proxy import FaultProxy
from tests.harness import SUCCESS, GitRepo, Master, Moto, Session, wait_for
from tests.instances import InstancePlayer, moto_aws
from tests.integration.test_webhook import push_payload, sign
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

SECRET = "webhook-secret"
BURST = 12
LIVE_WITHIN = 2.0
"""Seconds any probe may take while the instances start: a liveness bound, not a timing
(before, a login waited for one of the threads the starts held, for as long as a start)."""


def checks(name: str, pool: str) -> dict[str, Any]:
    return {"name": name, "pools": [pool], "steps": [{"kind": "run", "command": ["true"]}]}


def pool(name: str, count: int) -> dict[str, Any]:
    return {"kind": "ec2", "name": name, "count": count, "idle_timeout": 0}


@dataclass
class Faulty:
    master: Master
    moto: Moto
    proxy: FaultProxy
    zulip: RecordingServer
    burst: GitRepo
    solo: GitRepo
    player: InstancePlayer
    leaked: str
    elsewhere: str

    def instances(self) -> dict[str, dict[str, Any]]:
        found = self.moto.client("ec2").describe_instances()["Reservations"]
        return {i["InstanceId"]: i for r in found for i in r["Instances"]}

    def running(self) -> list[str]:
        """The running instances the master launched."""
        return [
            i
            for i, d in self.instances().items()
            if d["State"]["Name"] == "running" and i not in (self.leaked, self.elsewhere)
        ]

    def log(self) -> str:
        return (self.master.cluster.master_dir / "twistd.log").read_text()

    def deliver_push(self, repo: GitRepo, sha: str) -> None:
        body = push_payload(repo, "refs/heads/master", sha)
        assert post_hook(self.master, body, "push") == 200


def post_hook(master: Master, body: bytes, event: str) -> int:
    request = urllib.request.Request(
        f"{master.url}change_hook/github",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-Hub-Signature-256": sign(body, SECRET),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def premade(moto: Moto, state: str, **tags: str) -> str:
    """An instance made before the master starts, as one of a crashed master would be."""
    ec2 = moto.client("ec2")
    image = ec2.describe_images(Owners=["111122223333"])["Images"][0]["ImageId"]
    instance: str = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ],
    )["Instances"][0]["InstanceId"]
    if state == "stopped":
        ec2.stop_instances(InstanceIds=[instance])
    return instance


def state(moto: Moto, instance: str) -> str:
    found = moto.client("ec2").describe_instances(InstanceIds=[instance])["Reservations"]
    name: str = found[0]["Instances"][0]["State"]["Name"]
    return name


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, moto_session: Moto) -> Iterator[Faulty]:
    root = tmp_path_factory.mktemp("ec2-faults")
    moto = moto_session
    moto.reset()
    repos = {}
    for name in ("burst", "solo"):
        repos[name] = GitRepo(root / name)
        repos[name].commit({"README": f"{name}\n"}, "initial")
        repos[name].push()
    player = InstancePlayer(moto, root / "instances")
    with FaultProxy(moto.url) as proxy, RecordingServer(status=200) as zulip:
        settings = local_settings(
            repos["burst"].url,
            [checks(f"burst-{n}", "big") for n in range(1, BURST + 1)],
            changes={"kind": "github"},
            github={"token": "unused", "webhook_secret": SECRET, "report_status": False},
            workers=[pool("big", BURST), pool("one", 1)],
            aws=moto_aws(moto, endpoint_url=proxy.url),
            zulip={
                "site": zulip.url,
                "bot_email": "ci-bot@example.com",
                "api_key": "zulip-key",
                "stream": "ci",
                "ops_stream": "ops",
                "ops_interval": 1,
            },
        )
        settings["projects"].append(
            {"name": "solo", "repository": repos["solo"].url, "builders": [checks("solo", "one")]}
        )
        cluster = LocalCluster(root / "cluster", settings)
        cluster.create()
        # A leak of this master (its id, pool "big"), and the stopped instance of another
        # master on this host with a pool of the same name.
        here = {"buildbot-master": "127.0.0.1", "buildbot-pool": "big"}
        ours = master_id(cluster.master_dir)
        leaked = premade(moto, "running", Name="buildbot big-3", **here, **{MASTER_ID_TAG: ours})
        elsewhere = premade(moto, "stopped", **here, **{MASTER_ID_TAG: "0123456789abcdef"})
        try:
            cluster.start()
            # The player would take the leak for one of the master's instances.
            wait_for(
                "the sweep to terminate the leak",
                lambda: state(moto, leaked) == "terminated",
            )
            player.start()
            yield Faulty(
                Master(cluster),
                moto,
                proxy,
                zulip,
                repos["burst"],
                repos["solo"],
                player,
                leaked,
                elsewhere,
            )
        finally:
            cluster.stop()
            player.stop()


def test_the_sweep_at_start_terminates_a_leak_of_this_master_and_says_so(
    faulty: Faulty,
) -> None:
    assert state(faulty.moto, faulty.leaked) == "terminated"
    # Another master's instance is not this master's business.
    assert state(faulty.moto, faulty.elsewhere) == "stopped"
    said = f"EC2 sweep: terminating instance {faulty.leaked} (buildbot big-3, launched "
    assert said in faulty.log()
    ops = wait_for(
        "the sweep on the ops stream",
        lambda: (
            [
                m
                for r in faulty.zulip.recorded()
                if (m := r.form)["to"] == "ops" and said in m["content"]
            ]
            or None
        ),
    )
    assert "no worker of this master owns it" in ops[0]["content"]


def probe(master: Master) -> dict[str, Callable[[], object]]:
    """What users and GitHub do while instances start: each must answer, and soon."""
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    return {
        "index page": lambda: urllib.request.urlopen(master.url, timeout=30).read(),
        "login": lambda: Session.login(master.url, "admin", "admin-pw"),
        "REST": lambda: master.get("builders"),
        "webhook": lambda: post_hook(master, ping, "ping"),
    }


def test_the_web_answers_while_twelve_instances_start_on_a_slow_aws(faulty: Faulty) -> None:
    faulty.proxy.delay = 2.0  # every AWS call takes two seconds
    sha = faulty.burst.commit({"a.txt": "a\n"})
    faulty.burst.push()
    faulty.deliver_push(faulty.burst, sha)
    launches_before = faulty.proxy.count("RunInstances")
    prices_before = faulty.proxy.count("DescribeSpotPriceHistory")
    slowest: dict[str, float] = {}
    rounds = 0
    give_up = time.monotonic() + 300
    try:
        # Until every start is done: its last call asks the spot price of its instance.
        while faulty.proxy.count("DescribeSpotPriceHistory") - prices_before < BURST:
            for what, call in probe(faulty.master).items():
                started = time.monotonic()
                call()
                slowest[what] = max(slowest.get(what, 0.0), time.monotonic() - started)
            rounds += 1
            assert time.monotonic() < give_up, "the starts never ended"
            time.sleep(0.05)
    finally:
        faulty.proxy.delay = 0.0
    assert faulty.proxy.count("RunInstances") - launches_before == BURST
    assert rounds >= 3, "the probes missed the starts"
    assert all(took < LIVE_WITHIN for took in slowest.values()), slowest

    builds = faulty.master.wait_for_builds(BURST, timeout=180)
    assert [b["results"] for b in builds] == [SUCCESS] * BURST
    wait_for("every instance to be terminated", lambda: not faulty.running(), timeout=120)


def test_aws_failing_during_a_boot_and_a_terminate_is_ridden_out(faulty: Faulty) -> None:
    faulty.master.wait_idle()
    solo = faulty.master.builder("solo")["builderid"]
    faulty.proxy.refuse_next(2, "ServiceUnavailable", 503, Action="DescribeInstances")
    faulty.proxy.refuse_next(2, "InternalError", 500, Action="TerminateInstances")
    sha = faulty.solo.commit({"b.txt": "b\n"})
    faulty.solo.push()
    faulty.deliver_push(faulty.solo, sha)

    [build] = wait_for(
        "the solo build",
        lambda: faulty.master.builds(builderid=solo, complete="true") or None,
        timeout=120,
    )
    assert build["results"] == SUCCESS, faulty.log()[-3000:]
    properties = faulty.master.properties(build["buildid"])
    assert "instance" in properties, (properties, faulty.master.steps(build["buildid"]))
    instance = properties["instance"]
    wait_for(
        "the instance to be terminated",
        lambda: faulty.instances()[instance]["State"]["Name"] == "terminated",
        timeout=120,
    )
    assert faulty.proxy.refusals == []  # both faults were met
    log = faulty.log()
    assert f"EC2 worker one-1: instance {instance} is starting; AWS said ServiceUnavailable" in log
    assert f"EC2 worker one-1: could not terminate {instance}: InternalError" in log
    assert f"EC2 worker one-1: instance {instance} terminated after 3 tries" in log
    assert not faulty.running()
