"""``/metrics`` on the web port follows the builds of a real master and worker."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import StartMaster, local_settings
from tests.harness import GitRepo, Master, wait_for

pytestmark = pytest.mark.slow


def scrape(
    master: Master, login: tuple[str, str] | None = ("reader", "reader-pw")
) -> dict[str, float]:
    """Every sample as ``name{label=value,...}`` -> value."""
    request = urllib.request.Request(f"{master.url}metrics")
    if login:
        request.add_header(
            "Authorization", "Basic " + base64.b64encode(":".join(login).encode()).decode()
        )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def finished(samples: dict[str, float]) -> list[str]:
    return [k for k in samples if k.startswith("buildbot_builds_finished_total")]


def counted(master: Master, count: int) -> dict[str, float] | None:
    samples = scrape(master)
    return samples if len(finished(samples)) == count else None


def one_running_one_pending(master: Master) -> dict[str, float] | None:
    samples = scrape(master)
    running = sum(v for k, v in samples.items() if k.startswith("buildbot_builds_running{"))
    pending = sum(v for k, v in samples.items() if k.startswith("buildbot_builds_pending{"))
    return samples if (running, pending) == (1, 1) else None


def test_metrics_follow_builds_behind_a_login(
    repo: GitRepo, start_master: StartMaster, tmp_path: Path
) -> None:
    flag = tmp_path / "go"
    wait = ["sh", "-c", f"until [ -e {flag} ]; do sleep 0.2; done"]
    builders = [{"name": name, "steps": [{"kind": "run", "command": wait}]} for name in "ab"]
    settings = local_settings(repo.url, builders, auth={"metrics_login": True})
    master = start_master(settings)

    def refused() -> int | None:
        try:
            scrape(master, login=None)
        except urllib.error.HTTPError as error:
            # 404 until the page is on the web root, just after the master started.
            return error.code if error.code != 404 else None
        return 200

    assert wait_for("the metrics page", refused) == 401
    before = scrape(master)
    assert before["buildbot_ec2_instances_running{}"] == 0
    assert before["buildbot_ec2_instances_starting{}"] == 0
    assert finished(before) == []
    statements = before["buildbot_database_statements_total{}"]
    assert statements > 0  # the master's start wrote its builders and workers

    # One worker: while one builder waits for the flag, the other waits for the worker.
    repo.branch("feature")
    repo.commit({"x": "1"})
    repo.push()
    busy = wait_for("a running and a pending build", lambda: one_running_one_pending(master))
    [running] = [k for k in busy if k.startswith("buildbot_builds_running{")]
    [pending] = [k for k in busy if k.startswith("buildbot_builds_pending{")]
    assert {running, pending} in (
        {
            "buildbot_builds_running{builder=a,worker=worker-1}",
            "buildbot_builds_pending{builder=b}",
        },
        {
            "buildbot_builds_running{builder=b,worker=worker-1}",
            "buildbot_builds_pending{builder=a}",
        },
    )
    assert busy[running] == busy[pending] == 1
    assert finished(busy) == []

    flag.touch()
    master.wait_for_builds(2)
    after = wait_for("two finished builds counted", lambda: counted(master, 2))
    assert after["buildbot_builds_finished_total{builder=a,result=success}"] == 1
    assert after["buildbot_builds_finished_total{builder=b,result=success}"] == 1
    assert after["buildbot_build_duration_seconds_count{builder=a}"] == 1
    assert after["buildbot_build_duration_seconds_bucket{builder=a,le=+Inf}"] == 1
    # Two builds are dozens of statements each: changes, requests, steps, logs.
    assert after["buildbot_database_statements_total{}"] > statements + 100
    assert not [
        k for k in after if k.startswith(("buildbot_builds_pending{b", "buildbot_builds_running{b"))
    ]
