"""Anyone may read the REST API; only admins may control builds, requests and workers."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import StartMaster, Summary, local_settings
from tests.harness import CANCELLED, GitRepo, Master, Session, wait_for

pytestmark = pytest.mark.slow

SLOW = [{"name": "slow", "steps": [{"kind": "run", "name": "wait", "command": ["sleep", "120"]}]}]
HASHED = "$2b$04$hMCr5NQPtEDlhvz3lfRR.uOOwVxIicy2RoJ1iUgE2VeM/1pL7oBqO"  # bcrypt of "hashed-pw"
USERS = {"admin": "admin-pw", "reader": "reader-pw", "boss": HASHED}


def anonymous(master: Master) -> Session:
    return Session(master.url, urllib.request.build_opener())


def wrong_password(master: Master) -> Session:
    """A client sending the admin's name with a wrong password on every request."""
    opener = urllib.request.build_opener()
    credentials = base64.b64encode(b"admin:not-the-password").decode()
    opener.addheaders = [("Authorization", f"Basic {credentials}")]
    return Session(master.url, opener)


TRIES: list[int] = []  # every unauthorised control call's HTTP status, for the summary


def refused(master: Master, path: str, method: str, **params: Any) -> list[int]:
    """The HTTP status an anonymous visitor, a wrong password and a non-admin each get."""
    reader = master.session("reader", "reader-pw")
    statuses = [
        anonymous(master).control(path, method, **params)[0],
        wrong_password(master).control(path, method, **params)[0],
        reader.control(path, method, **params)[0],
    ]
    TRIES.extend(statuses)
    return statuses


def log_text(master: Master) -> str:
    return (master.cluster.master_dir / "twistd.log").read_text(errors="replace")


@pytest.fixture
def master(repo: GitRepo, start_master: StartMaster) -> Master:
    settings = local_settings(repo.url, SLOW, auth={"users": USERS, "admins": ["admin", "boss"]})
    return start_master(settings)


def test_wrong_password_is_refused_and_logged_without_it(master: Master) -> None:
    with pytest.raises(urllib.error.HTTPError) as refusal:
        master.session("admin", "not-the-password-917")

    assert refusal.value.code == 401
    wait_for("the failed login in the log", lambda: "web login failed" in log_text(master))
    assert "web login failed for user 'admin'" in log_text(master)
    assert "not-the-password-917" not in log_text(master)
    with pytest.raises(urllib.error.HTTPError):
        master.session("boss", HASHED)  # the hash itself is not a password


def test_bcrypt_hashed_password_logs_in_as_admin(master: Master) -> None:
    boss = master.session("boss", "hashed-pw")
    builder = master.builder("slow")

    status, answer = boss.control(
        "forceschedulers/demo-force", "force", builderid=builder["builderid"], branch="master"
    )

    assert status == 200, answer
    master.session("admin", "admin-pw").control(f"builds/{_running(master)['buildid']}", "stop")


def _running(master: Master) -> dict[str, Any]:
    return wait_for("a running build", lambda: master.builds(complete="false") or None)[0]


def test_only_admins_control(master: Master, summary: Summary) -> None:
    TRIES.clear()
    admin = master.session("admin", "admin-pw")
    builder = master.builder("slow")
    force = ("forceschedulers/demo-force", "force")
    force_params = {"builderid": builder["builderid"], "branch": "master", "reason": "test"}

    # Reading needs no login.
    assert master.builder("slow")["builderid"] == builder["builderid"]

    # Force: refused to anonymous and non-admin, done for the admin.
    assert refused(master, *force, **force_params) == [403, 403, 403]
    assert master.get("buildrequests")["buildrequests"] == []
    assert admin.control(*force, **force_params)[0] == 200
    running = _running(master)

    # A second request waits for the one worker; cancel it.
    assert admin.control(*force, **force_params)[0] == 200
    waiting = wait_for(
        "a waiting build request",
        lambda: master.get("buildrequests", claimed="false")["buildrequests"] or None,
    )[0]
    request = f"buildrequests/{waiting['buildrequestid']}"
    assert refused(master, request, "cancel") == [403, 403, 403]
    assert master.get(request)["buildrequests"][0]["complete"] is False
    assert admin.control(request, "cancel")[0] == 200
    wait_for("the cancelled request", lambda: master.get(request)["buildrequests"][0]["complete"])
    assert master.get(request)["buildrequests"][0]["results"] == CANCELLED

    # Stop the running build.
    build = f"builds/{running['buildid']}"
    assert refused(master, build, "stop") == [403, 403, 403]
    assert master.get(build)["builds"][0]["complete"] is False
    assert admin.control(build, "stop")[0] == 200
    [stopped] = master.wait_for_builds(1)
    assert stopped["results"] == CANCELLED

    # Rebuild it.
    assert refused(master, build, "rebuild") == [403, 403, 403]
    assert master.builds(complete="false") == []
    assert admin.control(build, "rebuild")[0] == 200
    rebuilt = _running(master)
    assert rebuilt["buildid"] != running["buildid"]
    assert admin.control(f"builds/{rebuilt['buildid']}", "stop")[0] == 200

    # Disable and enable the push scheduler.
    scheduler = next(s for s in master.get("schedulers")["schedulers"] if s["name"] == "demo-push")
    path = f"schedulers/{scheduler['schedulerid']}"
    assert refused(master, path, "enable", enabled=False) == [403, 403, 403]
    assert admin.control(path, "enable", enabled=False)[0] == 200
    wait_for("the disabled scheduler", lambda: not master.get(path)["schedulers"][0]["enabled"])
    assert admin.control(path, "enable", enabled=True)[0] == 200

    # Buildbot 4.3 has no REST call that shuts the master down (a clean shutdown is
    # SIGUSR1 or `buildbot stop --clean`); any such call is refused to non-admins all the same.
    [master_entry] = master.get("masters")["masters"]
    path = f"masters/{master_entry['masterid']}"
    assert refused(master, path, "shutdown") == [403, 403, 403]
    assert refused(master, path, "cleanShutdown") == [403, 403, 403]

    # Pause and stop the worker.
    worker = next(w for w in master.get("workers")["workers"] if w["name"] == "worker-1")
    path = f"workers/{worker['workerid']}"
    assert refused(master, path, "pause") == [403, 403, 403]
    assert refused(master, path, "stop") == [403, 403, 403]
    assert master.get(path)["workers"][0]["paused"] is False
    assert admin.control(path, "pause")[0] == 200
    wait_for("the paused worker", lambda: master.get(path)["workers"][0]["paused"])
    assert admin.control(path, "stop")[0] == 200
    wait_for("the worker to leave", lambda: not master.get(path)["workers"][0]["connected_to"])

    summary(
        "control without rights",
        tries=len(TRIES),
        refused=sum(1 for status in TRIES if status == 403),
        lost=sum(1 for status in TRIES if status < 400),
    )
