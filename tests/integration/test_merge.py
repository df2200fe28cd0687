"""Builds test pushes merged forward: real master, real worker, real git repositories."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import StartMaster, local_settings, with_untrusted_pool
from tests.harness import FAILURE, SUCCESS, WARNINGS, GitRepo, Master

pytestmark = pytest.mark.slow

# Shows the built tree and the commit it is at, after MergeForward.
SHOW = [
    {
        "name": "checks",
        "steps": [
            {
                "kind": "run",
                "name": "show",
                "command": ["sh", "-c", "ls; git log -1 --format='HEAD %H %P'"],
            }
        ],
    }
]


def by_branch(master: Master, builds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {master.properties(b["buildid"])["branch"]: b for b in builds}


def steps_by_name(master: Master, build: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in master.steps(build["buildid"])}


def test_branches_build_merged_into_master_except_master_and_releases(
    repo: GitRepo, start_master: StartMaster
) -> None:
    initial = repo.git("rev-parse", "HEAD")
    master = start_master(local_settings(repo.url, SHOW))

    # master moves on after the other branches started from the initial commit.
    newer = repo.push_commit(
        "master", {"README": "hello from master\n", "newer.txt": "new\n"}, "master moves"
    )
    feature = repo.push_commit("feature", {"feature.txt": "feature\n"}, "a feature", start=initial)
    release = repo.push_commit("release/1.0", {"CHANGES": "1.0\n"}, "release notes", start=initial)
    repo.push_commit(
        "conflicting", {"README": "hello from a branch\n"}, "conflicts with master", start=initial
    )

    builds = by_branch(master, master.wait_for_builds(4))
    assert set(builds) == {"master", "feature", "release/1.0", "conflicting"}

    # master: built as pushed, linted against its parent.
    build = builds["master"]
    props = master.properties(build["buildid"])
    assert build["results"] == SUCCESS
    assert props["got_revision"] == newer
    assert props["merge_base"] == props["lint_revision"] == initial
    assert "merged_revision" not in props
    assert f"HEAD {newer} {initial}\n" in master.log(build["buildid"], "show")

    # feature: its merge into master, whose newer file is in the built tree.
    build = builds["feature"]
    props = master.properties(build["buildid"])
    log = master.log(build["buildid"], "show")
    assert build["results"] == SUCCESS
    assert props["got_revision"] == feature
    assert props["merge_base"] == initial
    assert "newer.txt" in log and "feature.txt" in log
    assert f"HEAD {props['merged_revision']} {feature} {newer}\n" in log
    assert steps_by_name(master, build)["merge-forward"]["state_string"] == "merged master"

    # release/1.0: not merged, so master's file is absent; based on the merge base.
    build = builds["release/1.0"]
    props = master.properties(build["buildid"])
    log = master.log(build["buildid"], "show")
    assert build["results"] == SUCCESS
    assert "newer.txt" not in log and "CHANGES" in log
    assert f"HEAD {release} {initial}\n" in log
    assert props["merge_base"] == initial
    assert "merged_revision" not in props

    # conflicting: fails at the merge, naming the file, and nothing after it runs.
    build = builds["conflicting"]
    steps = steps_by_name(master, build)
    assert build["results"] == FAILURE
    assert steps["merge-forward"]["results"] == FAILURE
    assert steps["merge-forward"]["state_string"] == (
        "merge conflict with master: README (failure)"
    )
    assert "show" not in steps or steps["show"]["started_at"] is None


def test_the_same_push_always_gives_the_same_merge(
    repo: GitRepo, start_master: StartMaster
) -> None:
    master = start_master(local_settings(repo.url, SHOW))
    repo.push_commit("feature", {"feature.txt": "feature\n"})
    [first] = master.wait_for_builds(1)

    admin = master.session("admin", "admin-pw")
    status, answer = admin.control(
        "forceschedulers/demo-force",
        "force",
        builderNames=["checks"],
        branch="feature",
        reason="again",
    )
    assert status == 200, answer
    second = master.wait_for_builds(2)[1]

    merged = [master.properties(b["buildid"])["merged_revision"] for b in (first, second)]
    assert merged[0] == merged[1]


def test_pushes_inside_the_timer_make_one_build_of_the_last(
    repo: GitRepo, start_master: StartMaster
) -> None:
    # A timer of 2 s: the poller (every 1 s) may see the pushes in two batches.
    master = start_master(local_settings(repo.url, SHOW, tree_stable_timer=2))
    repo.branch("feature")
    for n in range(3):
        last = repo.commit({"n.txt": f"{n}\n"}, f"push {n}")
        repo.push()

    [build] = master.wait_for_builds(1)
    time.sleep(5)  # more than timer and poll interval: a late second build would show now
    master.wait_idle()

    assert len(master.builds()) == 1
    assert master.properties(build["buildid"])["got_revision"] == last


TESTS = [
    {
        "name": "unit",
        "steps": [
            {
                "kind": "test",
                "name": "pytest",
                "command": ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "checks"],
                "halt_on_failure": False,
            },
            # trial imports what is on the path: the tree, through the step's env.
            {
                "kind": "test",
                "runner": "trial",
                "command": ["trial", "tdemo"],
                "env": {"PYTHONPATH": "."},
            },
            {
                "kind": "lint",
                "command": [
                    "sh",
                    "-c",
                    "echo a.py:1:1: E1 bad; echo b.py:2:1: W2 worse; echo done",
                ],
            },
            {
                "kind": "run",
                "name": "report",
                "command": ["sh", "-c", "mkdir -p out; echo hi > out/r.txt"],
            },
            {
                "kind": "upload",
                "name": "report-html",
                "source": "out",
                "url": "http://artifacts.test/",
            },
        ],
    }
]

TEST_FILE = """\
import pytest

def test_one():
    assert 1

def test_two():
    assert 2

def test_three():
    assert 3 == 4

@pytest.mark.skip(reason="not today")
def test_four():
    pass
"""


TRIAL_FILE = """\
from twisted.trial import unittest

class T(unittest.TestCase):
    def test_a(self):
        pass

    def test_b(self):
        pass
"""


def test_recipe_steps_show_counts_and_link_uploads(
    repo: GitRepo, start_master: StartMaster
) -> None:
    master = start_master(local_settings(repo.url, TESTS))
    repo.branch("feature")
    repo.commit(
        {"checks/test_demo.py": TEST_FILE, "tdemo/__init__.py": "", "tdemo/test_t.py": TRIAL_FILE}
    )
    repo.push()

    [build] = master.wait_for_builds(1)

    step = steps_by_name(master, build)["pytest"]
    assert build["results"] == FAILURE
    assert step["state_string"] == "4 tests 2 passed 1 failed 1 skipped (failure)"
    assert "1 failed, 2 passed, 1 skipped" in master.log(build["buildid"], "pytest")

    steps = steps_by_name(master, build)
    assert steps["test"]["state_string"] == "2 tests passed"
    assert steps["lint"]["state_string"] == "lint 2 warnings (warnings)"
    assert steps["lint"]["results"] == WARNINGS
    logs = master.get(f"builds/{build['buildid']}/steps/{steps['lint']['number']}/logs")["logs"]
    warnings = next(log["slug"] for log in logs if log["name"] == "warnings (2)")
    assert master.log(build["buildid"], "lint", warnings).splitlines() == [
        "a.py:1:1: E1 bad",
        "b.py:2:1: W2 worse",
    ]

    upload = steps["report-html"]
    assert upload["results"] == SUCCESS
    where = f"demo/feature/unit-{build['number']}/report-html"
    assert upload["urls"] == [{"name": "report-html", "url": f"http://artifacts.test/{where}/"}]
    copied = master.cluster.master_dir / "results" / where / "r.txt"
    assert copied.read_text() == "hi\n"


def test_forced_pull_request_ref_builds_merged_into_its_base(
    repo: GitRepo, start_master: StartMaster, forks: dict[str, Any]
) -> None:
    """A forced ``refs/pull/<n>/head`` is a pull request's code: it builds on the untrusted
    pool's fresh instances, merged into the base the form names."""
    initial = repo.git("rev-parse", "HEAD")
    # Bases move on after the pull request started: one is master, one a release branch.
    on_master = repo.push_commit("master", {"master.txt": "m\n"}, "master moves")
    on_release = repo.push_commit(
        "release/2", {"release.txt": "r\n"}, "release moves", start=initial
    )
    # GitHub keeps a pull request's head at refs/pull/<n>/head, not in refs/heads.
    repo.branch("contributor", initial)
    pull = repo.commit({"pr.txt": "p\n"}, "a contribution")
    repo.git("push", "--quiet", "origin", "HEAD:refs/pull/7/head")

    master = start_master(with_untrusted_pool(local_settings(repo.url, SHOW), forks))
    admin = master.session("admin", "admin-pw")
    builder = master.builder("checks")
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
        assert f"{pull} {parent}" in show
        assert master.properties(build["buildid"])["pool"] == "forks"
