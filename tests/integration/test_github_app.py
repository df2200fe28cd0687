"""The master as a GitHub App: statuses posted with installation tokens made from a
signed app JWT, renewed before they expire, so no status is lost across an expiry.

A local GitHub (``tests/fake_github.py``) checks the RS256 JWT against the app's public
key, mints installation tokens that expire after a few seconds here (an hour on GitHub),
and refuses a status whose token has expired.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.cluster import LocalCluster
from tests.conftest import StartMaster, local_settings
from tests.fake_github import App, FakeGitHub
from tests.git_https import GitHttps
from tests.harness import SUCCESS, GitRepo, Master, wait_for
from tests.integration.test_webhook import SECRET, deliver, push_payload, sign

pytestmark = pytest.mark.slow

APP_ID = 4242
INSTALLATION = 77
LIFETIME = 4.0
"""Seconds an installation token lives here: builds outlast several."""
BUILDERS = [{"name": "slow", "steps": [{"kind": "run", "command": ["sleep", "1.5"]}]}]


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def webhook_settings(
    repository: str, builders: list[dict[str, Any]], github: FakeGitHub, private: str, secret: str
) -> dict[str, Any]:
    """A test master taking signed deliveries of ``secret``, acting as ``github``'s App."""
    return local_settings(
        repository,
        builders,
        changes={"kind": "github"},
        github={
            "app": {"app_id": github.app.app_id if github.app else 0, "private_key": private},
            "webhook_secret": secret,
            "api_url": f"{github.url}/api/v3",
        },
    )


def test_statuses_go_with_installation_tokens_renewed_before_they_expire(
    repo: GitRepo, start_master: StartMaster
) -> None:
    private, public = key_pair()
    # The test repository's path ends in repo/origin.git: its "owner" is repo.
    app = App(APP_ID, public, {"repo": INSTALLATION}, token_lifetime=LIFETIME)
    with FakeGitHub(app=app) as github:
        settings = local_settings(
            repo.url,
            BUILDERS,
            github={
                "app": {"app_id": APP_ID, "private_key": private},
                "webhook_secret": "unused",
                "api_url": f"{github.url}/api/v3",
                "checks": False,  # an App may still post commit statuses
            },
        )
        master = start_master(settings)
        for n in range(4):
            repo.push_commit(f"feature-{n}", {"f.txt": f"{n}\n"})
            master.wait_for_builds(n + 1, timeout=120)

        builds = master.builds(complete="true")
        # pending when requested, pending when started, then the result: per build.
        wait_for("every status", lambda: len(github.statuses) >= 3 * len(builds) or None)

    assert [b["results"] for b in builds] == [SUCCESS] * 4
    assert github.refused == []
    assert len(github.installation_tokens) >= 2  # renewed, at least once
    states = [body["state"] for _, body in github.statuses]
    assert states.count("success") == 4
    log = (master.cluster.master_dir / "twistd.log").read_text()
    properties: list[Any] = [master.properties(b["buildid"]) for b in builds]
    for token in github.installation_tokens:
        assert token not in log
        assert token not in repr(properties)
    assert "PRIVATE KEY" not in log


def test_a_private_repository_is_checked_out_with_a_token_for_that_build_only(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The worker holds no GitHub credentials: the checkout and the merge get an
    installation token in their environment, later steps see none, and nothing of it
    is left on the worker's disk or in the logs."""
    private, public = key_pair()
    app = App(APP_ID, public, {"repo": INSTALLATION})
    look = "env | grep -c GIT_CONFIG || true; cat $HOME/.git-credentials 2>&1 || true"
    builders = [
        {
            "name": "private",
            "steps": [{"kind": "run", "name": "look", "command": ["sh", "-c", look]}],
        }
    ]
    with (
        FakeGitHub(app=app) as github,
        GitHttps(
            repo.bare.parent.parent,
            tmp_path,
            allows=lambda token, repository: github.allows(token, repository, "contents", "read"),
        ) as server,
    ):
        private_url = f"{server.url}/{repo.bare.parent.name}/{repo.bare.name}"
        settings = local_settings(
            private_url,
            builders,
            changes={"kind": "github"},
            github={
                "app": {"app_id": APP_ID, "private_key": private},
                "webhook_secret": SECRET,
                "api_url": f"{github.url}/api/v3",
            },
        )
        home = tmp_path / "worker-home"
        home.mkdir()
        cluster = LocalCluster(
            tmp_path / "cluster",
            settings,
            worker_env={
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": str(home),
                "GIT_SSL_CAINFO": str(server.ca_file),
            },
        )
        try:
            cluster.start()
            master = Master(cluster)
            master.wait_workers(1)
            sha = repo.push_commit("feature", {"f.txt": "f\n"})
            body = push_payload(repo, "refs/heads/feature", sha)
            assert deliver(master, body, signature=sign(body)) == 200
            [build] = master.wait_for_builds(1)
            log = master.log(build["buildid"], "look")
            got_revision = master.properties(build["buildid"])["got_revision"]
            steps = {s["name"]: s["state_string"] for s in master.steps(build["buildid"])}
            twistd = (cluster.master_dir / "twistd.log").read_text()
        finally:
            cluster.stop()
        anonymous = subprocess.run(
            ["git", "ls-remote", private_url],
            env={"PATH": "/usr/bin:/bin", "GIT_SSL_CAINFO": str(server.ca_file), "HOME": str(home)},
            capture_output=True,
            check=False,
        ).returncode
        refused = server.fetches.pop()

    assert build["results"] == SUCCESS, steps
    assert got_revision == sha
    assert server.fetches and set(server.fetches) == {"ok"}
    # The step after them sees no git credentials, and none were stored.
    assert "\n0\n" in log and ".git-credentials: No such file or directory" in log
    for token in github.installation_tokens:
        assert token not in log and token not in twistd
    assert not list(home.rglob(".git-credentials"))
    assert anonymous != 0 and refused == "refused"  # no token, no repository
