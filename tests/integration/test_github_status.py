"""Builds report GitHub commit statuses to the API the settings name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import CANCELLED, FAILURE, SUCCESS, GitRepo, Master, wait_for
from tests.recording_server import RecordingServer, Request

pytestmark = pytest.mark.slow

TOKEN = "ghp_test_token_4242"


def builder(name: str, command: str = "sh check.sh") -> dict[str, Any]:
    return {"name": name, "steps": [{"kind": "run", "name": "check", "command": command.split()}]}


def github(api: RecordingServer, **extra: Any) -> dict[str, Any]:
    return {"token": TOKEN, "webhook_secret": "hook-secret", "api_url": api.url, **extra}


@pytest.fixture
def github_api() -> Iterator[RecordingServer]:
    with RecordingServer(status=201) as server:
        yield server


def statuses(api: RecordingServer, context: str) -> list[Request]:
    return [r for r in api.recorded() if r.body and r.body.get("context") == context]


def states(api: RecordingServer, context: str) -> list[str]:
    return [r.body["state"] for r in statuses(api, context)]


def wait_final_state(api: RecordingServer, context: str) -> list[Request]:
    """The statuses of one context, once one of them is final."""

    def final() -> list[Request] | None:
        found = statuses(api, context)
        return found if found and found[-1].body["state"] != "pending" else None

    return wait_for(f"a final status for {context}", final, timeout=60)


def build_url(master: Master, build: dict[str, Any]) -> str:
    return f"{master.url}#/builders/{build['builderid']}/builds/{build['number']}"


def test_push_reports_pending_then_success_per_builder(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer
) -> None:
    settings = local_settings(
        repo.url, [builder("unit"), builder("lint")], github=github(github_api)
    )
    master = start_master(settings)
    repo.branch("feature")
    sha = repo.commit({"check.sh": "echo fine\n"})
    repo.push()

    builds = master.wait_for_builds(2)
    for name in ("unit", "lint"):
        sent = wait_final_state(github_api, f"buildbot/{name}")
        assert sent[0].body["state"] == "pending"
        assert sent[-1].body["state"] == "success"
        assert {r.body["state"] for r in sent} == {"pending", "success"}
        # The pushed commit, in the repository's owner/name (its path's last two parts).
        assert {r.path for r in sent} == {f"/repos/repo/origin/statuses/{sha}"}
        assert {r.header("Authorization") for r in sent} == {f"token {TOKEN}"}
        assert sent[-1].body["description"] == "Build succeeded."
        [build] = [
            b for b in builds if f"/builders/{b['builderid']}/" in sent[-1].body["target_url"]
        ]
        assert build["results"] == SUCCESS
        assert sent[-1].body["target_url"] == build_url(master, build)
    assert all(b["results"] == SUCCESS for b in builds)


def test_failing_build_reports_failure(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer
) -> None:
    master = start_master(local_settings(repo.url, [builder("unit")], github=github(github_api)))
    repo.branch("broken")
    sha = repo.commit({"check.sh": "exit 3\n"})
    repo.push()

    [build] = master.wait_for_builds(1)
    sent = wait_final_state(github_api, "buildbot/unit")

    assert build["results"] == FAILURE
    assert sent[-1].body["state"] == "failure"
    assert sent[-1].body["description"] == "Build failed."
    assert sent[-1].path == f"/repos/repo/origin/statuses/{sha}"


def test_stopped_build_and_cancelled_request_report_error(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer
) -> None:
    """A build that cannot finish is an error, and a cancelled request leaves no pending."""
    slow = [builder("first", "sleep 120"), builder("second", "sleep 120")]
    master = start_master(local_settings(repo.url, slow, github=github(github_api)))
    repo.branch("slow")
    sha = repo.commit({"check.sh": "true\n"})
    repo.push()
    admin = master.session("admin", "admin-pw")

    # One worker: one builder runs, the other's request waits for it.
    running = wait_for("a running build", lambda: master.builds(complete="false") or None)[0]
    waiting = wait_for(
        "a waiting build request",
        lambda: master.get("buildrequests", claimed="false")["buildrequests"] or None,
    )[0]
    assert admin.control(f"buildrequests/{waiting['buildrequestid']}", "cancel")[0] == 200
    assert admin.control(f"builds/{running['buildid']}", "stop")[0] == 200

    [build] = master.wait_for_builds(1)
    assert build["results"] == CANCELLED
    for name in ("first", "second"):
        sent = wait_final_state(github_api, f"buildbot/{name}")
        everything = [(r.body["context"], r.body["state"]) for r in github_api.recorded()]
        assert sent[0].body["state"] == "pending", everything
        assert sent[-1].body["state"] == "error"
        assert sent[-1].body["description"] == "Build cancelled."
        assert {r.path for r in sent} == {f"/repos/repo/origin/statuses/{sha}"}


def test_report_status_false_sends_nothing(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer
) -> None:
    settings = local_settings(
        repo.url, [builder("unit")], github=github(github_api, report_status=False)
    )
    master = start_master(settings)
    repo.branch("feature")
    repo.commit({"check.sh": "echo fine\n"})
    repo.push()

    [build] = master.wait_for_builds(1)

    assert build["results"] == SUCCESS
    assert github_api.recorded() == []


def test_github_answering_500_does_not_break_the_build(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer
) -> None:
    github_api.status = 500
    master = start_master(local_settings(repo.url, [builder("unit")], github=github(github_api)))
    repo.branch("feature")
    repo.commit({"check.sh": "echo fine\n"})
    repo.push()

    [build] = master.wait_for_builds(1)
    sent = wait_final_state(github_api, "buildbot/unit")

    assert build["results"] == SUCCESS
    assert sent[-1].body["state"] == "success"
    twistd_log = master.cluster.master_dir / "twistd.log"

    def logged_failure() -> str | None:
        text = twistd_log.read_text(errors="replace")
        return text if 'Failed to update "success"' in text else None

    # The server records a request before it answers: the master logs the 500 after.
    log = wait_for("the failed update in the log", logged_failure)
    assert TOKEN not in log
