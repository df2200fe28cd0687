"""Zulip: one summary per buildset, alerts for a failing main branch, expected failures.

A real master and worker build real pushes; a local recording server plays both Zulip's
message API and GitHub's statuses API.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import FAILURE, SUCCESS, GitRepo, Master, free_port, wait_for
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

API_KEY = "zulip-key-Xq81Lm"
BOT = "ci-bot@example.com"


def builder(name: str, command: str) -> dict[str, Any]:
    return {"name": name, "steps": [{"kind": "run", "name": "check", "command": command.split()}]}


BUILDERS = [
    builder("unit", "true"),
    builder("lint", "true"),
    builder("acceptance", "sh check.sh"),
    builder("flaky", "false"),
]


def zulip(site: str, **streams: Any) -> dict[str, Any]:
    return {"site": site, "bot_email": BOT, "api_key": API_KEY, "stream": "ci", **streams}


@pytest.fixture
def zulip_site() -> Iterator[RecordingServer]:
    with RecordingServer(status=200) as server:
        yield server


@pytest.fixture
def github_api() -> Iterator[RecordingServer]:
    with RecordingServer(status=201) as server:
        yield server


def messages(site: RecordingServer) -> list[dict[str, str]]:
    """Every message posted, as its form fields."""
    found = []
    for request in site.recorded():
        assert request.path == "/api/v1/messages"
        expected = "Basic " + base64.b64encode(f"{BOT}:{API_KEY}".encode()).decode()
        assert request.header("Authorization") == expected
        found.append(request.form)
    return found


def wait_messages(site: RecordingServer, count: int) -> list[dict[str, str]]:
    return wait_for(
        f"{count} Zulip message(s)", lambda: m if len(m := messages(site)) >= count else None
    )


def link(master: Master, builds: list[dict[str, Any]], name: str) -> str:
    [build] = [b for b in builds if b["properties_builder"] == name]
    return f"[{name}]({master.url}#/builders/{build['builderid']}/builds/{build['number']})"


def named(master: Master, builds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {b["builderid"]: b["name"] for b in master.get("builders")["builders"]}
    return [{**b, "properties_builder": names[b["builderid"]]} for b in builds]


def final_status(api: RecordingServer, context: str) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        sent = [r.body for r in api.recorded() if r.body and r.body.get("context") == context]
        return sent[-1] if sent and sent[-1]["state"] != "pending" else None

    return wait_for(f"a final status for {context}", final)


def test_summary_alert_and_expected_failures(
    repo: GitRepo,
    start_master: StartMaster,
    zulip_site: RecordingServer,
    github_api: RecordingServer,
) -> None:
    github = {"token": "t", "webhook_secret": "s", "api_url": github_api.url}
    settings = local_settings(
        repo.url, BUILDERS, zulip=zulip(zulip_site.url, critical_stream="alerts"), github=github
    )
    settings["projects"][0]["failing_builders"] = ["flaky"]
    master = start_master(settings)

    # A feature branch with one real failure and one expected failure: one summary.
    repo.branch("feature/x")
    sha = repo.commit({"check.sh": "exit 1\n"})
    repo.push()
    builds = named(master, master.wait_for_builds(4))
    [summary] = wait_messages(zulip_site, 1)

    assert summary == {
        "type": "stream",
        "to": "ci",
        "topic": "demo : feature/x",
        "content": "\n".join(
            [
                "**Build Complete**",
                f"Branch `feature/x` at `{sha[:12]}`",
                f":white_check_mark: {link(master, builds, 'lint')}, {link(master, builds, 'unit')}",
                f":x: {link(master, builds, 'acceptance')}",
                f"Expected failures: :x: {link(master, builds, 'flaky')}",
            ]
        ),
    }
    # GitHub: the expected failure is a success with a note; the real one a failure.
    flaky = final_status(github_api, "buildbot/flaky")
    assert (flaky["state"], flaky["description"]) == (
        "success",
        "Expected failure: build failed (listed in failing_builders).",
    )
    assert final_status(github_api, "buildbot/acceptance")["state"] == "failure"
    assert {b["properties_builder"]: b["results"] for b in builds}["flaky"] == FAILURE

    # The main branch fails: a summary, and one alert for the real failure only.
    repo.branch("master")
    main_sha = repo.commit({"check.sh": "exit 2\n"})
    repo.push()
    builds = named(master, master.wait_for_builds(8))[4:]
    found = wait_messages(zulip_site, 3)
    master.wait_idle()
    [alert] = [m for m in found if m["to"] == "alerts"]
    [acceptance] = [b for b in builds if b["properties_builder"] == "acceptance"]

    assert len(messages(zulip_site)) == 3
    assert alert == {
        "type": "stream",
        "to": "alerts",
        "topic": "demo master is failing",
        "content": f":x: [acceptance #{acceptance['number']}]({master.url}#/builders/"
        f"{acceptance['builderid']}/builds/{acceptance['number']}) failed on `master` at "
        f"`{main_sha[:12]}`",
    }
    assert [m["topic"] for m in found if m["to"] == "ci"] == ["demo : feature/x", "demo : master"]

    # Forced with report-expected-failures, the expected failure is reported as one.
    admin = master.session("admin", "admin-pw")
    flaky_id = next(b["builderid"] for b in builds if b["properties_builder"] == "flaky")
    answer = admin.control(
        "forceschedulers/demo-force",
        "force",
        builderid=flaky_id,
        branch="feature/x",
        reason="check",
        **{"report-expected-failures": True},
    )
    assert answer[0] == 200
    master.wait_for_builds(9)
    wait_for(
        "a failure status for flaky",
        lambda: final_status(github_api, "buildbot/flaky")["state"] == "failure",
    )


def test_unreachable_zulip_is_logged_without_the_key(
    repo: GitRepo, start_master: StartMaster
) -> None:
    master = start_master(
        local_settings(
            repo.url, [builder("unit", "true")], zulip=zulip(f"http://127.0.0.1:{free_port()}")
        )
    )
    repo.branch("good")
    repo.commit({"check.sh": "true\n"})
    repo.push()

    [build] = master.wait_for_builds(1)
    log = master.cluster.master_dir / "twistd.log"
    complaint = wait_for(
        "the master to log the failed post",
        lambda: [line for line in log.read_text().splitlines() if "Zulip:" in line] or None,
    )

    assert build["results"] == SUCCESS
    assert "could not post to ci" in complaint[0]
    assert API_KEY not in log.read_text()


def test_master_errors_go_to_the_ops_stream_batched(
    repo: GitRepo, start_master: StartMaster, zulip_site: RecordingServer
) -> None:
    """GitHub answering 500 makes the master log errors; they reach the ops stream."""
    with RecordingServer(status=500) as github_api:
        github = {"token": "gh-token-77", "webhook_secret": "s", "api_url": github_api.url}
        streams = {"ops_stream": "ops", "ops_interval": 1}
        settings = local_settings(
            repo.url,
            [builder("unit", "true")],
            zulip=zulip(zulip_site.url, **streams),
            github=github,
        )
        master = start_master(settings)
        repo.branch("feature")
        repo.commit({"x": "1"})
        repo.push()
        master.wait_for_builds(1)
        found = wait_for(
            "the failed status updates on the ops stream",
            lambda: [m for m in messages(zulip_site) if m["to"] == "ops"] or None,
        )

    assert found[0]["topic"] == "test master master errors"
    assert 'Failed to update "' in found[0]["content"]
    assert found[0]["content"].startswith("```\n")
    assert "gh-token-77" not in "".join(m["content"] for m in found)
