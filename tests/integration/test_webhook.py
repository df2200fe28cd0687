"""GitHub push deliveries at /change_hook/github: only signed pushes build."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from config.github.repositories import repository_key
from tests.conftest import StartMaster, local_settings
from tests.harness import SUCCESS, GitRepo, Master

pytestmark = pytest.mark.slow

SECRET = "webhook-secret"
CHECKS = [{"name": "checks", "steps": [{"kind": "run", "name": "show", "command": ["ls"]}]}]


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(master: Master, body: bytes, **options: Any) -> int:
    """POST one delivery as GitHub does (``options`` as for :func:`answer`); returns the
    HTTP status."""
    status, _ = answer(master, body, **options)
    return status


def answer(
    master: Master,
    body: bytes,
    *,
    event: str = "push",
    signature: str | None = None,
    content_type: str = "application/json",
    delivery: str | None = None,
) -> tuple[int, str]:
    """POST one delivery as GitHub does (``delivery``: its ``X-GitHub-Delivery`` id);
    returns the HTTP status and the answer's text."""
    headers = {"Content-Type": content_type, "X-GitHub-Event": event}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    request = urllib.request.Request(
        f"{master.url}change_hook/github", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def push_payload(
    repo: GitRepo, ref: str, sha: str, message: str = "a change", **extra: Any
) -> bytes:
    """What GitHub sends for a push of one commit to ``ref``."""
    commit = {
        "id": sha,
        "message": message,
        "timestamp": "2026-01-02T03:04:05+00:00",
        "url": f"https://github.example/commit/{sha}",
        "author": {"name": "A", "email": "a@example.com"},
        "committer": {"name": "A", "email": "a@example.com"},
        "added": ["x.txt"],
        "modified": [],
        "removed": [],
    }
    payload = {
        "ref": ref,
        "after": sha,
        "created": False,
        "deleted": False,
        "commits": [commit],
        "head_commit": commit,
        "repository": {
            "name": "origin",
            "full_name": repository_key(repo.url),
            "html_url": repo.url,
        },
        **extra,
    }
    return json.dumps(payload).encode()


@pytest.fixture
def master(repo: GitRepo, start_master: StartMaster) -> Master:
    github = {"token": "unused", "webhook_secret": SECRET, "report_status": False}
    settings = local_settings(repo.url, CHECKS, changes={"kind": "github"}, github=github)
    return start_master(settings)


def test_only_signed_push_deliveries_build(repo: GitRepo, master: Master) -> None:
    repo.branch("feature")
    sha = repo.commit({"x.txt": "x\n"})
    repo.push()
    good = push_payload(repo, "refs/heads/feature", sha)
    malformed = b'{"ref": "refs/heads/feature", '
    incomplete = json.dumps({"repository": {"full_name": repository_key(repo.url)}}).encode()

    refused = {
        "unsigned": deliver(master, good),
        "wrongly signed": deliver(master, good, signature=sign(good, "guess")),
        "signed with sha1 only": deliver(master, good, signature="sha1=" + "0" * 40),
        "malformed JSON": deliver(master, malformed, signature=sign(malformed)),
        "incomplete push": deliver(master, incomplete, signature=sign(incomplete)),
        "not an object": deliver(master, b"[1]", signature=sign(b"[1]")),
        "wrong content type": deliver(
            master, good, signature=sign(good), content_type="text/plain"
        ),
        "pull request event": deliver(master, good, event="pull_request", signature=sign(good)),
        "no event": deliver(master, good, event="", signature=sign(good)),
    }
    assert all(400 <= status < 500 for status in refused.values()), refused

    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    assert deliver(master, ping, event="ping", signature=sign(ping)) == 200
    deleted = push_payload(repo, "refs/heads/gone", "0" * 40, deleted=True)
    assert deliver(master, deleted, signature=sign(deleted)) == 200
    time.sleep(3)  # longer than the tree-stable timer: a wrongly accepted delivery would build
    assert master.builds() == []

    assert deliver(master, good, signature=sign(good)) == 200
    [build] = master.wait_for_builds(1)
    master.wait_idle()

    assert len(master.builds()) == 1
    props = master.properties(build["buildid"])
    assert build["results"] == SUCCESS
    assert (props["branch"], props["got_revision"], props["project"]) == ("feature", sha, "demo")
    assert "merged_revision" in props


def test_tag_push_builds_as_a_release(repo: GitRepo, master: Master) -> None:
    sha = repo.commit({"CHANGES": "2.0.0\n"}, "release 2.0.0")
    repo.git("tag", "2.0.0")
    repo.git("push", "--quiet", "origin", "refs/tags/2.0.0")
    body = push_payload(repo, "refs/tags/2.0.0", sha)

    assert deliver(master, body, signature=sign(body)) == 200
    [build] = master.wait_for_builds(1)

    props = master.properties(build["buildid"])
    assert build["results"] == SUCCESS
    assert props["got_revision"] == sha
    assert "merged_revision" not in props
    merge = next(s for s in master.steps(build["buildid"]) if s["name"] == "merge-forward")
    assert merge["state_string"] == "no merge: release 2.0.0"


def test_pushes_to_other_repositories_are_ignored(repo: GitRepo, master: Master) -> None:
    repo.branch("feature")
    sha = repo.commit({"x.txt": "x\n"})
    repo.push()
    body = push_payload(repo, "refs/heads/feature", sha)
    other = json.loads(body)
    other["repository"]["full_name"] = "someone/else"
    body = json.dumps(other).encode()

    assert deliver(master, body, signature=sign(body)) == 200
    time.sleep(3)  # longer than the tree-stable timer
    assert master.builds() == []
