"""A delivery whose processing keeps failing is not tried forever, on a real master.

GitHub's API is down for good (nothing listens where ``github.api_url`` points), so a
pull request's delivery fails at each try: after ``github.delivery_attempts`` tries it is
set aside in ``webhook-spool/failed/``, said on the ops stream of a fake Zulip with its
id and the failure, and not tried again.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import GitRepo, free_port, wait_for
from tests.integration.test_pull_requests import CHECKS, pull_request
from tests.integration.test_webhook import SECRET, answer, sign
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

ATTEMPTS = 3
WAIT = 0.25  # before the second try; 0.5 s before the third


def tries(log: Path, delivery: str) -> int:
    """The failed tries of ``delivery`` the master's log tells of."""
    lines = log.read_text(errors="replace").splitlines()
    said = ("failed, and is tried again", "from the spool, failed")
    return sum(1 for line in lines if delivery in line and any(s in line for s in said))


def test_a_delivery_that_keeps_failing_is_set_aside_after_its_last_try(
    repo: GitRepo, start_master: StartMaster
) -> None:
    with RecordingServer(status=200) as zulip:
        master = start_master(
            local_settings(
                repo.url,
                CHECKS,
                changes={"kind": "github"},
                github={
                    "token": "gh-token",
                    "webhook_secret": SECRET,
                    "api_url": f"http://127.0.0.1:{free_port()}",  # nothing answers
                    "delivery_attempts": ATTEMPTS,
                    "delivery_retry_wait": WAIT,
                },
                zulip={
                    "site": zulip.url,
                    "bot_email": "bot@example.com",
                    "api_key": "zulip-key",
                    "stream": "builds",
                    "ops_stream": "ops",
                    "ops_interval": 0.2,
                },
            ),
            wait_workers=False,  # nothing builds
        )
        sha = repo.push_commit("feature", {"feature.txt": "f\n"})
        body = pull_request(repo, "opened", 4, sha, fork=False, association="MEMBER")
        delivery = str(uuid.uuid4())
        status, said = answer(
            master, body, event="pull_request", signature=sign(body), delivery=delivery
        )
        assert status == 202 and "kept in the spool and tried again" in said, said

        spool = master.cluster.master_dir / "webhook-spool"
        [kept] = wait_for(
            "the delivery set aside",
            lambda: list((spool / "failed").glob(f"*{delivery}.delivery")) or None,
            timeout=30,
        )
        assert kept.read_bytes().endswith(b"\n" + body)  # as GitHub sent it
        assert not list(spool.glob("*.delivery"))

        def announced() -> list[str] | None:
            found = [r.form["content"] for r in zulip.recorded() if r.form.get("to") == "ops"]
            return [text for text in found if delivery in text] or None

        [message] = wait_for("the ops stream to hear of it", announced, timeout=30)
        assert f"pull_request delivery {delivery} failed {ATTEMPTS} times" in message
        assert "Connection refused" in message, message

        log = master.cluster.master_dir / "twistd.log"
        assert tries(log, delivery) == ATTEMPTS
        time.sleep(4 * WAIT)  # the retry loop runs every WAIT: a try would show by now
        assert tries(log, delivery) == ATTEMPTS
        assert kept.exists()
