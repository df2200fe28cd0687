"""A pipeline as its users see it: one Zulip summary, check runs from the start, and links
between a build and the builds it triggered.

One real master (a GitHub App, against the local GitHub of ``tests/fake_github.py``, with
a recording server as Zulip) and two real workers build two pushes of a two-builder
pipeline: ``good``, whose ``first`` build succeeds and triggers ``second``, and ``bad``,
whose ``first`` build fails and triggers nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.fake_github import App, FakeGitHub
from tests.harness import FAILURE, SUCCESS, GitRepo, Master, wait_for
from tests.integration.test_github_app import key_pair
from tests.integration.test_zulip import link, messages, named, wait_messages, zulip
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

APP_ID = 2424
BUILDERS: list[dict[str, Any]] = [
    {
        "name": "first",
        "then": ["second"],
        "steps": [{"kind": "run", "name": "check", "command": ["sh", "-c", "test ! -e fail"]}],
    },
    {
        "name": "second",
        "triggered": True,
        "steps": [{"kind": "run", "name": "accept", "command": ["true"]}],
    },
]


@dataclass
class Pipeline:
    master: Master
    github: FakeGitHub
    zulip: RecordingServer
    good: str
    bad: str
    builds: list[dict[str, Any]]
    """Every build, named (``properties_builder``), oldest first."""

    def build(self, builder: str, sha: str) -> dict[str, Any]:
        [found] = [
            b
            for b in self.builds
            if b["properties_builder"] == builder
            and self.master.properties(b["buildid"])["got_revision"] == sha
        ]
        return found

    def calls(self, sha: str, builder: str) -> list[tuple[int, str, int, dict[str, Any]]]:
        """The check run calls of ``builder`` on ``sha``: (order, method, run, body)."""
        runs = {
            n
            for n, run in self.github.check_runs.items()
            if run["head_sha"] == sha and run["name"] == f"buildbot/{builder}"
        }
        return [
            (i, method, n, body)
            for i, (method, n, body) in enumerate(self.github.check_run_calls)
            if n in runs
        ]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    root = tmp_path_factory.mktemp("pipeline-view")
    repo = GitRepo.started(root / "repo")
    private, public = key_pair()
    with (
        FakeGitHub(app=App(APP_ID, public, {"repo": 77})) as github,
        RecordingServer(status=200) as zulip_site,
    ):
        settings = local_settings(
            repo.url,
            BUILDERS,
            workers={"count": 2},
            github={
                "app": {"app_id": APP_ID, "private_key": private},
                "webhook_secret": "unused",
                "api_url": f"{github.url}/api/v3",
            },
            zulip=zulip(zulip_site.url),
        )
        cluster = LocalCluster(root / "master", settings)
        try:
            cluster.start()
            master = Master(cluster)
            master.wait_workers(2)
            good = repo.push_commit("good", {"good.txt": "good\n"}, start="master")
            bad = repo.push_commit("bad", {"fail": "yes\n"}, start="master")
            master.wait_for_builds(3)
            master.wait_idle()
            builds = named(master, master.builds(complete="true", order="buildid"))
            wait_messages(zulip_site, 2)
            yield Pipeline(master, github, zulip_site, good, bad, builds)
        finally:
            cluster.stop()


def test_one_zulip_summary_names_every_builder_of_the_pipeline(pipeline: Pipeline) -> None:
    master = pipeline.master
    found = {m["topic"]: m for m in messages(pipeline.zulip)}
    assert sorted(found) == ["demo : bad", "demo : good"]
    good = pipeline.build("first", pipeline.good), pipeline.build("second", pipeline.good)
    assert [b["results"] for b in good] == [SUCCESS, SUCCESS]
    passed = found["demo : good"]["content"].splitlines()[-1]
    assert passed == (
        f":white_check_mark: {link(master, list(good), 'first')}, "
        f"{link(master, list(good), 'second')}"
    )
    bad = [pipeline.build("first", pipeline.bad)]
    assert bad[0]["results"] == FAILURE
    assert found["demo : bad"]["content"].splitlines()[-1] == f":x: {link(master, bad, 'first')}"
    assert len(messages(pipeline.zulip)) == 2  # none for the triggered buildset alone


def test_triggered_builder_is_a_check_run_from_its_pipelines_start(pipeline: Pipeline) -> None:
    first = pipeline.calls(pipeline.good, "first")
    second = pipeline.calls(pipeline.good, "second")
    assert len({run for _, _, run, _ in second}) == 1  # the triggered build took it over
    assert [(method, body.get("status")) for _, method, _, body in second] == [
        ("POST", "queued"),
        ("PATCH", "in_progress"),  # its request adopted the check run, and it started
        ("PATCH", "completed"),
    ]
    assert second[0][3]["output"]["title"] == "Waiting for first."
    assert second[-1][3]["conclusion"] == "success"
    [first_done] = [i for i, _, _, body in first if body.get("status") == "completed"]
    assert second[0][0] < first_done  # queued while the first builder ran

    not_run = pipeline.calls(pipeline.bad, "second")
    assert [(method, body.get("status")) for _, method, _, body in not_run] == [
        ("POST", "queued"),
        ("PATCH", "completed"),
    ]
    ended = not_run[-1][3]
    assert ended["conclusion"] == "cancelled"
    assert ended["output"]["title"] == "Not run: first did not succeed."
    assert pipeline.github.refused == []


def test_trigger_step_links_the_triggered_build_and_it_links_back(pipeline: Pipeline) -> None:
    master = pipeline.master
    first = pipeline.build("first", pipeline.good)
    second = pipeline.build("second", pipeline.good)

    def links() -> list[dict[str, str]] | None:
        [trigger] = [s for s in master.steps(first["buildid"]) if s["name"] == "trigger"]
        return trigger["urls"] if len(trigger["urls"]) == 2 else None

    requested, built = wait_for("the triggered build's link", links)
    # The request's page at once (it shows its build once it starts), the build once ended.
    assert requested["url"] == f"{master.url}#/buildrequests/{second['buildrequestid']}"
    assert built == {
        "name": f"success: second #{second['number']}",
        "url": f"{master.url}#/builders/{second['builderid']}/builds/{second['number']}",
    }
    [request] = master.get(f"buildrequests/{second['buildrequestid']}")["buildrequests"]
    [triggered] = master.get(f"buildrequests/{request['buildrequestid']}/builds")["builds"]
    assert triggered["buildid"] == second["buildid"]
    # The way back: the UI heads the triggered build with its buildset's parent.
    [buildset] = master.get(f"buildsets/{request['buildsetid']}")["buildsets"]
    assert buildset["parent_buildid"] == first["buildid"]
    assert buildset["parent_relationship"] == "Triggered from"
