"""A forced build of ``refs/pull/<n>/head`` tests that pull request merged into its base."""

from __future__ import annotations

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import SUCCESS, GitRepo

pytestmark = pytest.mark.slow

SHOW = [
    {
        "name": "checks",
        "steps": [
            {
                "kind": "run",
                "name": "show",
                "command": ["sh", "-c", "ls; git log -1 --format='HEAD %P'"],
            }
        ],
    }
]


def test_forced_pull_request_ref_builds_merged_into_its_base(
    repo: GitRepo, start_master: StartMaster
) -> None:
    initial = repo.git("rev-parse", "HEAD")
    # Bases move on after the pull request started: one is master, one a release branch.
    repo.branch("master")
    on_master = repo.commit({"master.txt": "m\n"}, "master moves")
    repo.push()
    repo.branch("release/2", initial)
    on_release = repo.commit({"release.txt": "r\n"}, "release moves")
    repo.push()
    # GitHub keeps a pull request's head at refs/pull/<n>/head, not in refs/heads.
    repo.branch("contributor", initial)
    pull = repo.commit({"pr.txt": "p\n"}, "a contribution")
    repo.git("push", "--quiet", "origin", "HEAD:refs/pull/7/head")

    master = start_master(local_settings(repo.url, SHOW))
    admin = master.session("admin", "admin-pw")
    builder = master.get("builders")["builders"][0]
    force = ("forceschedulers/demo-force", "force")
    # One at a time: Buildbot would collapse two waiting requests for one commit.
    pr = {"builderid": builder["builderid"], "branch": "refs/pull/7/head"}
    assert admin.control(*force, **pr)[0] == 200
    [first] = master.wait_for_builds(1)
    assert admin.control(*force, **pr, base="release/2")[0] == 200
    second = master.wait_for_builds(2)[1]

    for build, base, parent in ((first, "master", on_master), (second, "release/2", on_release)):
        assert build["results"] == SUCCESS
        steps = {s["name"]: s for s in master.steps(build["buildid"])}
        assert steps["merge-forward"]["state_string"] == f"merged {base}"
        show = master.log(build["buildid"], "show")
        assert "pr.txt" in show
        assert f"HEAD {pull} {parent}" in show
