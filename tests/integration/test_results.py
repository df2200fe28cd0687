"""Uploads are served at ``/results/<project>/<branch>/<build>/`` and pruned by the janitor."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from buildbot.configurators.janitor import JANITOR_NAME

from tests.conftest import StartMaster, local_settings
from tests.harness import SUCCESS, GitRepo, Master, wait_for

pytestmark = pytest.mark.slow

DOCS = [
    {
        "name": "docs",
        "steps": [
            {"kind": "run", "command": ["sh", "-c", "mkdir -p out && cat page > out/index.html"]},
            {"kind": "upload", "name": "html", "source": "out"},
        ],
    }
]


def fetch(url: str) -> str | int:
    """The page's text, or the HTTP error code."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())
    except urllib.error.HTTPError as error:
        return error.code


def upload_url(master: Master, build: dict[str, Any]) -> str:
    [step] = [s for s in master.steps(build["buildid"]) if s["name"] == "html"]
    [link] = step["urls"]
    return str(link["url"])


def test_results_are_served_linked_and_pruned(repo: GitRepo, start_master: StartMaster) -> None:
    master = start_master(local_settings(repo.url, DOCS, results={"keep_days": 1}))
    results = f"{master.url}results/demo/feature/docs/"

    repo.branch("feature/docs")
    repo.commit({"page": "first\n"})
    repo.push()
    [old] = master.wait_for_builds(1)
    repo.commit({"page": "second\n"})
    repo.push()
    new = master.wait_for_builds(2)[1]

    assert (old["results"], new["results"]) == (SUCCESS, SUCCESS)
    assert upload_url(master, old) == f"{results}docs-{old['number']}/html/"
    assert fetch(f"{upload_url(master, old)}index.html") == "first\n"
    assert fetch(f"{upload_url(master, new)}index.html") == "second\n"
    assert fetch(f"{results}latest/html/index.html") == "second\n"

    # The first build's results were published three days ago; keep_days is 1.
    published = master.cluster.master_dir / "results/demo/feature/docs" / f"docs-{old['number']}"
    three_days_ago = time.time() - 3 * 86400
    os.utime(published / ".published", (three_days_ago, three_days_ago))
    janitor = master.builder(JANITOR_NAME)
    admin = master.session("admin", "admin-pw")
    forced = admin.control(
        f"forceschedulers/{JANITOR_NAME}_force", "force", builderid=janitor["builderid"]
    )
    assert forced[0] == 200
    [cleanup] = wait_for(
        "the janitor's build",
        lambda: master.builds(builderid=janitor["builderid"], complete="true") or None,
    )

    assert cleanup["results"] == SUCCESS
    prune = next(s for s in master.steps(cleanup["buildid"]) if s["name"] == "prune results")
    assert prune["state_string"] == "deleted 1 results older than 1 days"
    assert fetch(f"{upload_url(master, old)}index.html") == 404
    assert not published.exists()
    assert fetch(f"{upload_url(master, new)}index.html") == "second\n"
    assert fetch(f"{results}latest/html/index.html") == "second\n"
