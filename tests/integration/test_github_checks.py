"""GitHub check runs of a master that is a GitHub App, against a local GitHub.

The local GitHub (``tests/fake_github.py``) takes check runs as GitHub documents them (an
installation token of ``checks: write``, at most 50 annotations a request, 422 for a
malformed body) and records them. Deliveries are signed as GitHub signs them. Pull
requests from forks build on an untrusted pool of EC2 instances on moto_server, each
played by a real worker; everything else on a local worker. One master serves the module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from config.github.repositories import repository_key
from local.cluster import LocalCluster
from tests.conftest import with_untrusted_pool
from tests.fake_github import App, FakeGitHub, Person
from tests.harness import FAILURE, SUCCESS, GitRepo, Master, Moto, wait_for
from tests.instances import InstancePlayer, untrusted_pool
from tests.integration.test_github_app import key_pair, webhook_settings
from tests.integration.test_pull_requests import fork_commit, pull_request
from tests.integration.test_webhook import SECRET, answer, push_payload, sign

pytestmark = pytest.mark.slow

APP_ID = 5151
JUNIT = (
    '<testsuite name="unit"><testcase classname="tests.test_sum" name="test_ok" '
    'file="tests/test_sum.py" line="2"/><testcase classname="tests.test_sum" '
    'name="test_sum" file="tests/test_sum.py" line="7"><failure message="sums are off">'
    "assert 2 == 3</failure></testcase></testsuite>"
)
BUILDERS = [
    # Both pools: pushes build it on the local worker, forks on the untrusted pool.
    {"name": "checks", "steps": [{"kind": "run", "name": "show", "command": ["ls"]}]},
    # A linter's finding and a test failure in a JUnit report: annotations at their lines.
    {
        "name": "fails",
        "pools": ["trusted"],
        "steps": [
            {
                "kind": "lint",
                "command": ["sh", "-c", "echo 'src/a.py:3:5: F401 unused import'; exit 1"],
            },
            {
                "kind": "test",
                "junit": ["reports/*.xml"],
                "command": [
                    "sh",
                    "-c",
                    f"mkdir -p reports && printf '%s' '{JUNIT}' > reports/junit.xml; exit 1",
                ],
            },
        ],
    },
]


@dataclass
class World:
    repo: GitRepo
    github: FakeGitHub
    master: Master

    def deliver(self, event: str, payload: dict[str, Any], signed: bool = True) -> str:
        body = json.dumps(payload).encode()
        status, text = answer(
            self.master, body, event=event, signature=sign(body if signed else b"forged")
        )
        assert status == 200 or not signed, (status, text)
        return text if status == 200 else f"refused: {status}"

    def runs(self, sha: str, name: str) -> list[dict[str, Any]]:
        """The check runs named ``name`` on ``sha``, oldest first."""
        runs = self.github.check_runs
        return [
            {**run, "id": n}
            for n, run in sorted(runs.items())
            if run["head_sha"] == sha and run["name"] == name
        ]

    def concluded(self, sha: str, builder: str, count: int) -> list[dict[str, Any]] | None:
        """The ``count`` check runs of ``builder`` on ``sha`` once the last is completed."""
        runs = self.runs(sha, f"buildbot/{builder}")
        return runs if len(runs) == count and runs[-1].get("status") == "completed" else None

    def calls(self, run: int) -> list[tuple[str, dict[str, Any]]]:
        return [(method, body) for method, n, body in self.github.check_run_calls if n == run]

    def builds_of(self, builder: str) -> list[dict[str, Any]]:
        builderid = self.master.builder(builder)["builderid"]
        return [b for b in self.master.builds() if b["builderid"] == builderid]


def check_run_delivery(
    repo: GitRepo, action: str, run: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """A ``check_run`` delivery as GitHub documents its payload."""
    return {
        "action": action,
        "check_run": {
            "id": run["id"],
            "name": run["name"],
            "head_sha": run["head_sha"],
            "external_id": run.get("external_id", ""),
            "status": run.get("status"),
            "pull_requests": [],
        },
        "repository": {"full_name": repository_key(repo.url), "html_url": repo.url},
        **extra,
    }


@pytest.fixture(scope="module")
def world(moto_session: Moto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("checks")
    repo = GitRepo.started(root / "repo")
    moto_session.reset()
    private, public = key_pair()
    people = [Person("boss", "Boss", {"repo": ["CI Admins"]}), Person("outsider", "Outsider")]
    app = App(APP_ID, public, {"repo": 91})
    with (
        FakeGitHub(client_id="client", client_secret="secret", people=people, app=app) as github,
        InstancePlayer(moto_session, root / "instances"),
    ):
        document = webhook_settings(repo.url, BUILDERS, github, private, SECRET)
        document["auth"] = {
            "github": {
                "client_id": "client",
                "client_secret": "secret",
                "server_url": github.url,
                "admin_teams": ["repo/CI Admins"],
            }
        }
        cluster = LocalCluster(
            root / "master", with_untrusted_pool(document, untrusted_pool(moto_session))
        )
        try:
            cluster.start()
            master = Master(cluster)
            master.wait_workers(1)
            yield World(repo, github, master)
        finally:
            cluster.stop()


def test_each_builder_is_a_check_run_from_its_start_to_its_conclusion(world: World) -> None:
    sha = world.repo.push_commit("feature", {"f.txt": "f\n"})
    world.deliver("push", json.loads(push_payload(world.repo, "refs/heads/feature", sha)))
    builds = world.master.wait_for_builds(2)

    wait_for("the check runs completed", lambda: world.concluded(sha, "checks", 1))
    wait_for("the check runs completed", lambda: world.concluded(sha, "fails", 1))
    outcomes = {}
    for name in ("checks", "fails"):
        [run] = world.runs(sha, f"buildbot/{name}")
        calls = world.calls(run["id"])
        # Started at once: created in progress, then completed (a request that waits
        # shows queued first: tests/unit/github/test_request_runs.py).
        assert [(method, body.get("status")) for method, body in calls] == [
            ("POST", "in_progress"),
            ("PATCH", "completed"),
        ]
        build = next(b for b in builds if b["builderid"] == world.master.builder(name)["builderid"])
        assert run["details_url"].endswith(
            f"#/builders/{build['builderid']}/builds/{build['number']}"
        )
        assert run["repository"] == "repo/origin"
        outcomes[name] = (build["results"], run["conclusion"], run["output"]["title"])
    assert outcomes == {
        "checks": (SUCCESS, "success", "Build succeeded."),
        "fails": (FAILURE, "failure", "Build failed. 1 failed, 1 passed; 1 lint finding"),
    }
    assert world.github.statuses == []  # an App's master posts check runs, not statuses
    assert world.github.refused == []


def test_the_failing_test_and_the_lint_finding_are_annotations_at_their_lines(
    world: World,
) -> None:
    sha = world.repo.git("rev-parse", "origin/feature")
    [run] = wait_for("the check run completed", lambda: world.concluded(sha, "fails", 1))
    [(method, body)] = [c for c in world.calls(run["id"]) if c[1].get("status") == "completed"]
    assert method == "PATCH"
    assert body["output"]["title"] == "Build failed. 1 failed, 1 passed; 1 lint finding"
    assert [
        (a["path"], a["start_line"], a["end_line"], a["annotation_level"], a["title"], a["message"])
        for a in body["output"]["annotations"]
    ] == [
        (
            "tests/test_sum.py",
            7,
            7,
            "failure",
            "tests.test_sum.test_sum",
            "sums are off\nassert 2 == 3",
        ),
        ("src/a.py", 3, 3, "warning", "F401", "unused import"),
    ]
    lint = body["output"]["annotations"][1]
    assert (lint["start_column"], lint["end_column"]) == (5, 5)
    assert "### Failing tests (1)" in body["output"]["summary"]
    assert "### Lint findings (1)" in body["output"]["summary"]
    assert run["annotations"] == body["output"]["annotations"]


def test_signed_rerequests_rebuild_that_builder_or_all_for_that_commit(world: World) -> None:
    sha = world.repo.git("rev-parse", "origin/feature")
    [run] = world.runs(sha, "buildbot/fails")
    before = len(world.master.builds())
    delivery = check_run_delivery(world.repo, "rerequested", run)
    assert world.deliver("check_run", delivery, signed=False).startswith("refused")
    said = world.deliver("check_run", delivery)
    assert "rebuilding fails" in said, said
    world.master.wait_for_builds(before + 1)
    assert [b["results"] for b in world.builds_of("fails")] == [FAILURE, FAILURE]
    assert len(world.builds_of("checks")) == 1
    [_, again] = wait_for("the re-run's check run", lambda: world.concluded(sha, "fails", 2))
    assert again["conclusion"] == "failure"

    # "Re-run all checks": every builder's newest build of the commit.
    suite = {
        "action": "rerequested",
        "check_suite": {"id": 1, "head_sha": sha, "head_branch": "feature"},
        "repository": delivery["repository"],
    }
    assert "rebuilding checks, fails" in world.deliver("check_suite", suite)
    world.master.wait_for_builds(before + 3)
    assert (len(world.builds_of("checks")), len(world.builds_of("fails"))) == (2, 3)


def test_only_an_admin_approves_a_waiting_fork_with_the_button(world: World) -> None:
    head = fork_commit(world.repo, 7, {"fix.txt": "fix\n"})
    said = world.deliver("pull_request", json.loads(pull_request(world.repo, "opened", 7, head)))
    assert "waits for an admin's approval" in said
    [waiting] = world.runs(head, "buildbot/checks")
    assert (waiting["status"], waiting["conclusion"]) == ("completed", "action_required")
    assert [a["identifier"] for a in waiting["actions"]] == ["approve"]
    assert world.runs(head, "buildbot/fails") == []  # not a builder of forks
    before = len(world.master.builds())

    def press(login: str) -> str:
        delivery = check_run_delivery(
            world.repo,
            "requested_action",
            waiting,
            requested_action={"identifier": "approve"},
            sender={"login": login},
        )
        return world.deliver("check_run", delivery)

    assert "outsider is not an admin: approval refused" in press("outsider")
    time.sleep(2)  # past the tree-stable timer: a build wrongly scheduled would show
    assert len(world.master.builds()) == before
    assert "approved by GitHub's Approve button" in press("boss")
    builds = world.master.wait_for_builds(before + 1, timeout=180)
    [build] = [b for b in builds if b["buildid"] not in {x["buildid"] for x in builds[:before]}]
    props = world.master.properties(build["buildid"])
    assert build["results"] == SUCCESS
    assert props["got_revision"] == head and props["approved_by"] == "boss"
    assert props["pool"] == "forks" and props["untrusted"] is True
    final = wait_for("the fork's build's check run", lambda: world.concluded(head, "checks", 2))
    assert final[-1]["conclusion"] == "success"

    # A re-run of the fork's build is untrusted still: on the untrusted pool again.
    said = world.deliver("check_run", check_run_delivery(world.repo, "rerequested", final[-1]))
    assert "rebuilding checks" in said
    rebuilt = world.master.wait_for_builds(before + 2, timeout=180)[-1]
    assert rebuilt["buildid"] > build["buildid"]
    props = world.master.properties(rebuilt["buildid"])
    assert (rebuilt["results"], props["got_revision"]) == (SUCCESS, head)
    assert props["pool"] == "forks" and props["untrusted"] is True
