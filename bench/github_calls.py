"""GitHub API calls per build of a master that is a GitHub App, reporting check runs.

A local GitHub (``tests/fake_github.py``) records every call; ``pushes`` signed pushes
each build one trivial build. The figures: check run calls per build (target: one to
create it as the build starts, one to complete it, and one per further 50 annotations;
these builds start at once and store none), and every GitHub call per build,
installation tokens included (minted once an hour per repository and job, so they fade
over a day of builds).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.cluster import TRIVIAL, WEBHOOK_SECRET, running
from bench.report import Row
from tests.fake_github import App, FakeGitHub
from tests.harness import GitRepo, wait_for
from tests.integration.test_github_app import key_pair, webhook_settings
from tests.integration.test_webhook import deliver, push_payload, sign

APP_ID = 7
TARGET = "2 + 1 per 50 annotations"


def measure(root: Path, pushes: int) -> list[Row]:
    repo = GitRepo(root / "repo")
    repo.commit({"README": "bench\n"}, "initial")
    repo.push()
    private, public = key_pair()
    with FakeGitHub(app=App(APP_ID, public, {"repo": 1})) as github:
        document = webhook_settings(repo.url, TRIVIAL, github, private, WEBHOOK_SECRET)
        with running(root / "master", document) as run:
            for n in range(pushes):
                sha = repo.push_commit(f"bench-{n}", {"n.txt": f"{n}\n"})
                body = push_payload(repo, f"refs/heads/bench-{n}", sha)
                deliver(run.master, body, signature=sign(body, WEBHOOK_SECRET))
                run.master.wait_for_builds(n + 1)

            def all_completed() -> bool:
                runs = github.check_runs.values()
                return len(runs) == pushes and all(r["status"] == "completed" for r in runs)

            wait_for("every check run completed", all_completed)
        calls = [c for c in github.requests if c[1].startswith("/api/v3/")]
        checks = [c for c in calls if "/check-runs" in c[1]]
    (root / "calls.json").write_text(json.dumps(calls))
    return [
        Row(
            f"GitHub check run calls per build ({pushes} builds)",
            len(checks) / pushes,
            "calls",
            target=TARGET,
        ),
        Row(
            f"GitHub calls per build, tokens included ({pushes} builds)",
            len(calls) / pushes,
            "calls",
        ),
    ]
