"""Secrets stay secret through a full cycle: EC2 worker on moto, GitHub statuses, Zulip.

After a build on a spot worker (a real worker playing the instance, as in
test_ec2_master), with its statuses sent to a recording GitHub and its result to a
recording Zulip, no secret of the settings (nor the worker password the master made)
appears in twistd.log, in any step log or build property from the REST API, or in what
the web UI's ``/config`` and index page serve, to a visitor or a logged-in admin.
"""

from __future__ import annotations

import base64
import urllib.request
from typing import Any

import pytest

from tests.conftest import StartMaster, Summary
from tests.harness import SUCCESS, GitRepo, Master, Moto, wait_for
from tests.instances import assignments
from tests.integration.test_ec2_master import be_the_instance, ec2_master_settings, instances
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

SECRETS: dict[str, dict[str, Any]] = {
    "github": {"token": "ghp_SECRET-token-7d1", "webhook_secret": "SECRET-hook-4b2"},
    "zulip": {"api_key": "SECRET-zulip-9c3"},
    "aws": {"access_key_id": "AKIASECRETKEY0005E4", "secret_access_key": "SECRET-aws-6f5"},
    "auth": {"users": {"admin": "SECRET-admin-pw-8a6", "reader": "SECRET-reader-pw-2e7"}},
}


def secret_values(settings: dict[str, Any]) -> list[str]:
    values = [settings["github"]["token"], settings["github"]["webhook_secret"]]
    values += [settings["zulip"]["api_key"], *settings["auth"]["users"].values()]
    return [*values, settings["aws"]["access_key_id"], settings["aws"]["secret_access_key"]]


def read(opener: urllib.request.OpenerDirector, url: str) -> str:
    with opener.open(url, timeout=10) as answer:
        return str(answer.read().decode(errors="replace"))


def start_instance_worker(master: Master, moto: Moto) -> str:
    """Start the worker the spot instance's user data describes; returns its password."""
    ec2 = moto.client("ec2")
    instance = wait_for(
        "a spot instance",
        lambda: next((i for i in instances(ec2) if i["State"]["Name"] == "running"), None),
        timeout=120,
    )
    data = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
    values = assignments(base64.b64decode(data["UserData"]["Value"]).decode())
    be_the_instance(master, values)
    return values["WORKER_PASSWORD"]


def test_no_secret_shows_after_a_full_cycle(
    start_master: StartMaster, repo: GitRepo, moto: Moto, summary: Summary
) -> None:
    with RecordingServer(status=201) as github_api, RecordingServer(status=200) as zulip_site:
        settings = ec2_master_settings(repo, moto, **SECRETS["aws"])
        settings["github"] = {**SECRETS["github"], "api_url": github_api.url}
        settings["zulip"] = {
            **SECRETS["zulip"],
            "site": zulip_site.url,
            "bot_email": "ci@example.com",
        }
        settings["auth"] = {**SECRETS["auth"], "admins": ["admin"]}
        settings["aws"]["build_wait_timeout"] = 60
        master = start_master(settings, wait_workers=False)
        repo.branch("feature")
        repo.commit({"a.txt": "a\n"})
        repo.push()
        worker_password = start_instance_worker(master, moto)

        [build] = master.wait_for_builds(1, timeout=180)
        wait_for("a Zulip message", lambda: zulip_site.recorded() or None)
        wait_for(
            "a final GitHub status",
            lambda: any(r.body and r.body.get("state") == "success" for r in github_api.recorded()),
        )
    assert build["results"] == SUCCESS
    # The secrets did their work: GitHub got the token, Zulip the key.
    assert github_api.recorded()[0].header("Authorization") == f"token {SECRETS['github']['token']}"
    bot = base64.b64encode(f"ci@example.com:{SECRETS['zulip']['api_key']}".encode()).decode()
    assert zulip_site.recorded()[0].header("Authorization") == f"Basic {bot}"

    anonymous = urllib.request.build_opener()
    admin = master.session("admin", SECRETS["auth"]["users"]["admin"]).opener
    places = {"twistd.log": (master.cluster.master_dir / "twistd.log").read_text(errors="replace")}
    for who, opener in (("anonymous", anonymous), ("admin", admin)):
        places[f"/config as {who}"] = read(opener, f"{master.url}config")
        places[f"index page as {who}"] = read(opener, master.url)
    for found in master.builds():
        buildid = found["buildid"]
        places[f"build {buildid} properties"] = str(master.properties(buildid))
        for step in master.steps(buildid):
            logs = master.get(f"builds/{buildid}/steps/{step['number']}/logs")["logs"]
            for log in logs:
                url = f"{master.url}api/v2/logs/{log['logid']}/raw"
                places[f"log {step['name']}/{log['name']}"] = read(anonymous, url)

    secrets = [*secret_values(settings), worker_password]
    leaks = [
        (secret, where) for secret in secrets for where, text in places.items() if secret in text
    ]
    summary(
        "secrets",
        tries=len(secrets) * len(places),
        refused=len(secrets) * len(places) - len(leaks),
        lost=len(leaks),
    )
    assert len(places) > 8  # logs were read
    assert leaks == []
