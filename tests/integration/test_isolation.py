"""Nothing one build leaves on a warm worker runs in the next, and tokens are cut to the job.

A build on a warm worker (a trusted one: untrusted builds never get one) tries every way
it has to leave code for the next build on that worker: git hooks, keys of the clone's
``.git/config`` that run commands (fsmonitor, a hooks path, an include, a filter, a
credential helper), dot-files in its home, a background process that outlives it, a
poisoned pip cache. Each would write a file if it ran. Then a second build checks out the
same repository on the same worker, with an installation token of a GitHub App, from a
private repository served over HTTPS by a local git server that asks the local GitHub
whether the token may read it. Nothing the first build planted runs, its process is gone,
and the token the checkout got can neither read another repository nor write a status.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.fake_github import App, FakeGitHub
from tests.git_https import GitHttps
from tests.harness import SUCCESS, GitRepo, Master
from tests.integration.test_github_app import APP_ID, INSTALLATION, key_pair
from tests.integration.test_webhook import SECRET, deliver, push_payload, sign

pytestmark = pytest.mark.slow

DAEMON = "isolation-test-daemon"
ATTACK = r"""
set -eu
run() { printf '#!/bin/sh\nenv > "%s/%s"\n' "$MARKS" "$1" > "$2"; chmod +x "$2"; }
for hook in post-checkout post-merge reference-transaction pre-auto-gc fsmonitor-watchman; do
    run "hook-$hook" ".git/hooks/$hook"
done
mkdir -p "$MARKS/hooks" && run hooks-path "$MARKS/hooks/post-checkout"
run fsmonitor "$MARKS/fsmonitor.sh"
git config core.fsmonitor "$MARKS/fsmonitor.sh"
git config core.hooksPath "$MARKS/hooks"
printf '[core]\n\tfsmonitor = %s/fsmonitor.sh\n' "$MARKS" > "$MARKS/included"
git config include.path "$MARKS/included"
git config filter.planted.smudge "env > $MARKS/smudge; cat"
git config filter.planted.clean "env > $MARKS/clean; cat"
echo '* filter=planted' > .git/info/attributes
git config credential.helper "!env > $MARKS/credential-helper"
for home in "$HOME" "$REAL_HOME"; do
    printf '[core]\n\thooksPath = %s/hooks\n\tfsmonitor = %s/fsmonitor.sh\n' \
        "$MARKS" "$MARKS" > "$home/.gitconfig"
    mkdir -p "$home/.cache/pip/wheels" && echo poisoned > "$home/.cache/pip/wheels/planted"
done
# Python that the build's last step (which ends its processes) would run instead, were
# it to read the tree or the home: it would end nothing.
site=$(python3 -c 'import site; print(site.getusersitepackages())')
mkdir -p "$site" && echo 'import os; os._exit(0)' > "$site/planted.pth"
printf 'import os\nos._exit(0)\n' > __future__.py
# A process that stays: it collects every token it can read from other processes.
setsid sh -c 'while :; do cat /proc/[0-9]*/environ 2>/dev/null | tr "\0" "\n" |
    grep GIT_CONFIG_VALUE >> "$1/daemon"; sleep 0.1; done' "$DAEMON" "$MARKS" \
    </dev/null >/dev/null 2>&1 &
echo planted > "$MARKS/planted"
"""
RUN = "[ ! -f attack.sh ] || sh attack.sh"
LOOK = 'cat .git/config; ls -A .git/hooks; echo "home: $(ls -A "$HOME")"'


def running(name: str) -> list[int]:
    """Processes whose command line names ``name``."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:
            continue
        if entry.isdigit() and name.encode() in cmdline:
            found.append(int(entry))
    return found


def test_a_build_leaves_nothing_that_runs_in_the_next_and_its_token_is_cut_to_the_job(
    repo: GitRepo, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    real_home = tmp_path / "worker-home"
    real_home.mkdir()
    second = GitRepo(tmp_path / "second")  # another repository of the same owner
    second.commit({"s.txt": "s\n"}, "second")
    second.push()
    (repo.bare.parent / "second.git").symlink_to(second.bare)
    env = {"MARKS": str(marks), "REAL_HOME": str(real_home), "DAEMON": DAEMON}
    builders = [
        {
            "name": "work",
            "steps": [
                # The attacker's branch carries the attack; the victim's has none.
                {"kind": "run", "name": "attack", "command": ["sh", "-c", RUN], "env": env},
                {"kind": "run", "name": "look", "command": ["sh", "-c", LOOK]},
            ],
        }
    ]
    private, public = key_pair()
    app = App(APP_ID, public, {"repo": INSTALLATION})
    with (
        FakeGitHub(app=app) as github,
        GitHttps(
            repo.bare.parent.parent,
            tmp_path,
            allows=lambda token, name: github.allows(token, name, "contents", "read"),
        ) as server,
    ):
        url = f"{server.url}/{repo.bare.parent.name}/{repo.bare.name}"
        settings = local_settings(
            url,
            builders,
            changes={"kind": "github"},
            github={
                "app": {"app_id": APP_ID, "private_key": private},
                "webhook_secret": SECRET,
                "api_url": f"{github.url}/api/v3",
            },
        )
        cluster = LocalCluster(
            tmp_path / "cluster",
            settings,
            worker_env={
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": str(real_home),
                "GIT_SSL_CAINFO": str(server.ca_file),
            },
        )
        try:
            cluster.start()
            master = Master(cluster)
            master.wait_workers(1)
            start = repo.git("rev-parse", "HEAD")
            branches = {"attacker": {"attack.sh": ATTACK}, "victim": {"victim.txt": "v\n"}}
            for number, (branch, files) in enumerate(branches.items(), start=1):
                sha = repo.push_commit(branch, files, start=start)
                body = push_payload(repo, f"refs/heads/{branch}", sha)
                assert deliver(master, body, signature=sign(body)) == 200
                builds = master.wait_for_builds(number)
            attacker, victim = builds
            steps = {
                build["buildid"]: {
                    s["name"]: s["state_string"] for s in master.steps(build["buildid"])
                }
                for build in builds
            }
            look = master.log(victim["buildid"], "look")
            victim_revision = master.properties(victim["buildid"])["got_revision"]
            checkout_tokens = [
                token
                for token, (_, permissions) in github.token_scopes.items()
                if permissions == {"contents": "read"}
            ]
        finally:
            cluster.stop()

        # The attack ran, and every trick of it was in place when the next build came.
        assert (marks / "planted").exists(), steps
        assert attacker["results"] == SUCCESS and victim["results"] == SUCCESS, steps
        assert victim_revision == sha
        assert "ended" in steps[attacker["buildid"]]["leftovers"]
        # None of it ran: no hook, no configured command, no dot-file; the process it left
        # was ended with its build, having seen no token.
        assert sorted(p.name for p in marks.iterdir()) == [
            "daemon",
            "fsmonitor.sh",
            "hooks",
            "included",
            "planted",
        ]
        assert (marks / "daemon").read_text() == ""
        assert running(DAEMON) == []
        # The next build saw a clean clone and a home of its own.
        assert "fsmonitor" not in look and "hooksPath" not in look and "filter" not in look
        assert "home: \n" in look

        # The checkout's token reads this repository, and nothing else.
        assert checkout_tokens
        token = checkout_tokens[-1]
        assert github.allows(token, "repo/origin", "contents", "read")
        other = f"{server.url}/repo/second.git"
        listing = subprocess.run(
            [
                "git",
                "-c",
                f"http.extraHeader=Authorization: Basic {basic(token)}",
                "ls-remote",
                other,
            ],
            env={
                "PATH": "/usr/bin:/bin",
                "GIT_SSL_CAINFO": str(server.ca_file),
                "HOME": str(real_home),
            },
            capture_output=True,
            check=False,
        )
        assert listing.returncode != 0 and server.fetches[-1] == "refused"
        status = urllib.request.Request(
            f"{github.url}/api/v3/repos/repo/origin/statuses/{sha}",
            data=json.dumps({"state": "success", "context": "forged"}).encode(),
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(status, timeout=10)
        assert refused.value.code == 403
        assert not any(body.get("context") == "forged" for _, body in github.statuses)


def basic(token: str) -> str:
    """``token`` as git sends it to GitHub (HTTP basic auth as ``x-access-token``)."""
    return base64.b64encode(f"x-access-token:{token}".encode()).decode()
