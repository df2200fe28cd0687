"""A real master with EC2 workers on moto_server, and a real worker playing the instance.

moto starts no machines, so the test does what the instance's user data would: it reads
the user data the master gave the spot instance, and starts a real ``buildbot-worker``
with the master, name and password found there. That proves the whole path: settings to
master.cfg to a spot launch, the password Buildbot registered equal to the one in the user
data (also after a ``buildbot reconfig`` while the instance boots), a build on the worker,
then (idle) the worker asked to shut down, so the process
exits by itself, and the instance terminated; then the next instance's new password, and
the first password refused.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from typing import Any

import pytest

from tests.conftest import MENDS_OFF, StartMaster, local_settings
from tests.harness import RETRY, SUCCESS, GitRepo, Master, Moto, wait_for
from tests.instances import assignments, create_from_user_data, moto_aws, user_data
from tests.integration.test_metrics import scrape

TOKEN = "ghp_master-test-token"
REFUSED = "invalid login from user 'worker-1'"
"""What the master logs when a worker offers a password it does not accept."""


def instances(client: Any) -> list[dict[str, Any]]:
    return [i for r in client.describe_instances()["Reservations"] for i in r["Instances"]]


CHECKS = [{"name": "checks", "steps": [{"kind": "run", "command": ["true"]}]}]


def ec2_master_settings(
    repo: GitRepo,
    moto: Moto,
    count: int = 1,
    builders: list[dict[str, Any]] = CHECKS,
    **aws: Any,
) -> dict[str, Any]:
    """A test master whose ``count`` workers are EC2 spot workers on moto."""
    settings = local_settings(
        repo.url,
        builders,
        workers={"kind": "ec2", "count": count},
        github={"token": TOKEN, "webhook_secret": "hook-secret", "report_status": False},
        aws=moto_aws(moto, **{"build_wait_timeout": 2, **aws}),
    )
    del settings["workers"]["password"]
    return settings


def be_the_instance(master: Master, values: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the real worker an instance's user data (its assignments) describes."""
    create_from_user_data(master.cluster.root / "worker-1", values)
    return master.cluster.start_worker(values["WORKER_NAME"])


@pytest.mark.slow
def test_build_runs_on_spot_worker_which_stops_when_idle(
    start_master: StartMaster, repo: GitRepo, moto: Moto
) -> None:
    ec2 = moto.client("ec2")
    settings = ec2_master_settings(repo, moto)
    master = start_master(settings, wait_workers=False)

    repo.commit({"a.txt": "a\n"}, "first change")
    repo.push()

    def running_instance() -> dict[str, Any] | None:
        found = [i for i in instances(ec2) if i["State"]["Name"] == "running"]
        return found[0] if found else None

    instance = wait_for("a spot instance", running_instance, timeout=120)
    assert instance["InstanceLifecycle"] == "spot"
    script = user_data(ec2, instance["InstanceId"])
    values = assignments(script)
    assert values["WORKER_NAME"] == "worker-1"
    assert "GITHUB_TOKEN" not in values and TOKEN not in script
    assert values["MASTER_PORT"] == str(settings["buildmaster"]["worker_port"])

    # `buildbot reconfig` runs master.cfg again while the instance boots: the password in
    # its user data must still be the one the master accepts.
    log_file = master.cluster.master_dir / "twistd.log"
    os.kill(master.cluster.processes[0].pid, signal.SIGHUP)  # what `buildbot reconfig` sends
    wait_for(
        "the reconfig",
        lambda: "configuration update complete" in log_file.read_text(),
        timeout=60,
    )

    worker = be_the_instance(master, values)

    [build] = master.wait_for_builds(1, timeout=120)
    assert build["results"] == SUCCESS
    properties = master.properties(build["buildid"])
    assert properties["instance"] == instance["InstanceId"]
    assert (properties["instance_type"], properties["market"]) == ("c5.large", "spot")
    assert properties["pool"] == "worker"

    # Idle for build_wait_timeout: the instance is terminated.
    wait_for(
        "the instance to be terminated",
        lambda: all(i["State"]["Name"] == "terminated" for i in instances(ec2)),
        timeout=120,
    )
    if MENDS_OFF:
        # Stock Buildbot drops the connection without asking the worker to exit, and the
        # worker tries again until its machine is gone (mends/latent_workers.py): here
        # the machine is only moto's record, so the test ends the worker as EC2 would.
        worker.terminate()
    # With the mends the worker was asked to shut down and ended by itself.
    assert worker.wait(timeout=120) is not None
    # The instance's lifetime, priced from the spot price history at launch (moto's).
    spent = scrape(master, login=None)
    key = "{instance_type=c5.large,market=spot,pool=worker}"
    assert spent[f"buildbot_ec2_instance_seconds_total{key}"] > 0
    assert spent[f"buildbot_ec2_estimated_dollars_total{key}"] >= 0
    log = log_file.read_text()
    if not MENDS_OFF:  # mends/latent_workers.py
        assert "worker-1: asking it to shut down before its machine ends" in log
    assert values["WORKER_PASSWORD"] not in log
    assert TOKEN not in log
    assert REFUSED not in log

    # The next build's instance logs in with a new password: the first one, which the
    # first instance's builds could read, no longer attaches.
    repo.commit({"b.txt": "b\n"}, "second change")
    repo.push()
    second = wait_for("a second spot instance", running_instance, timeout=120)
    new_values = assignments(user_data(ec2, second["InstanceId"]))
    assert new_values["WORKER_PASSWORD"] != values["WORKER_PASSWORD"]
    stale = master.cluster.start_worker("worker-1")  # its directory has the first password
    try:
        wait_for("the first password refused", lambda: REFUSED in log_file.read_text())
        [seen] = [w for w in master.get("workers")["workers"] if w["name"] == "worker-1"]
        assert seen["connected_to"] == []
    finally:
        stale.terminate()
        stale.wait(timeout=30)
    shutil.rmtree(master.cluster.root / "worker-1")
    be_the_instance(master, new_values)
    assert [b["results"] for b in master.wait_for_builds(2, timeout=120)] == [SUCCESS] * 2
    assert new_values["WORKER_PASSWORD"] not in log_file.read_text()


@pytest.mark.slow
def test_missing_image_retries_the_build_and_starts_nothing(
    start_master: StartMaster, repo: GitRepo, moto: Moto
) -> None:
    master = start_master(
        ec2_master_settings(repo, moto, ami_name="no-such-image"), wait_workers=False
    )
    repo.commit({"a.txt": "a\n"}, "first change")
    repo.push()

    build = master.wait_for_builds(1, timeout=120)[0]

    assert build["results"] == RETRY
    assert instances(moto.client("ec2")) == []
    log = (master.cluster.master_dir / "twistd.log").read_text()
    assert (
        "EC2 worker worker-1: no available image named 'no-such-image' tagged "
        "production=true owned by 111122223333" in log
    )
