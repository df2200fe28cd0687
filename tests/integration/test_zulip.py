"""Finished builds are posted to the Zulip stream, and the bot's key stays out of the log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import FAILURE, SUCCESS, GitRepo, Master, free_port, wait_for
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

API_KEY = "zulip-key-Xq81Lm"
CHECKS = [
    {"name": "checks", "steps": [{"kind": "run", "name": "check", "command": ["sh", "check.sh"]}]}
]


def zulip(site: str) -> dict[str, Any]:
    return {"site": site, "bot_email": "ci-bot@example.com", "api_key": API_KEY, "stream": "ci"}


@pytest.fixture
def zulip_site() -> Iterator[RecordingServer]:
    with RecordingServer(status=200) as server:
        yield server


def master_log(master: Master) -> str:
    return (master.cluster.master_dir / "twistd.log").read_text(errors="replace")


def test_one_message_per_finished_build_with_builder_and_result(
    repo: GitRepo, start_master: StartMaster, zulip_site: RecordingServer
) -> None:
    master = start_master(local_settings(repo.url, CHECKS, zulip=zulip(zulip_site.url)))
    repo.branch("good")
    repo.commit({"check.sh": "true\n"})
    repo.push()
    [good] = master.wait_for_builds(1)
    repo.branch("bad")
    repo.commit({"check.sh": "exit 1\n"})
    repo.push()
    builds = master.wait_for_builds(2)

    messages = wait_for(
        "two Zulip messages", lambda: found if len(found := zulip_site.recorded()) >= 2 else None
    )
    master.wait_idle()

    assert [b["results"] for b in builds] == [SUCCESS, FAILURE]
    assert len(zulip_site.recorded()) == 2
    for message, build in zip(messages, builds, strict=True):
        assert message.path == "/api/v1/external/buildbot"
        assert message.query == {"api_key": [API_KEY], "stream": ["ci"]}
        assert message.body["event"] == "finished"
        assert message.body["buildername"] == "checks"
        assert message.body["buildid"] == build["buildid"]
        assert message.body["results"] == build["results"]
    assert good["buildid"] == messages[0].body["buildid"]
    assert API_KEY not in master_log(master)


def test_unreachable_zulip_is_logged_without_the_key(
    repo: GitRepo, start_master: StartMaster
) -> None:
    master = start_master(
        local_settings(repo.url, CHECKS, zulip=zulip(f"http://127.0.0.1:{free_port()}"))
    )
    repo.branch("good")
    repo.commit({"check.sh": "true\n"})
    repo.push()

    [build] = master.wait_for_builds(1)
    complaint = wait_for(
        "the master to log the failed post",
        lambda: [line for line in master_log(master).splitlines() if "Zulip:" in line] or None,
    )

    assert build["results"] == SUCCESS
    assert "could not post a build result" in complaint[0]
    assert API_KEY not in master_log(master)
