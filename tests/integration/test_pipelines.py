"""Pipelines on one real master with three real workers: a package builder that sets a
property and triggers three acceptance builders, which share a counted lock of 2.

The package build of the feature branch moves ``master`` on (a new commit pushed while it
runs), so a triggered build that merged ``master`` again would build another tree. That
push builds ``master``, whose package build fails, and triggers nothing.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.harness import FAILURE, GIT_ENV, SKIPPED, SUCCESS, GitRepo, Master, wait_for
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

ACCEPTANCE = ["accept-a", "accept-b", "accept-c"]
TREE = {"kind": "run", "name": "tree", "command": ["git", "rev-parse", "HEAD^{tree}"]}


def builders(hold_log: Path) -> list[dict[str, Any]]:
    hold = f"echo + >> {hold_log}; sleep 2; echo - >> {hold_log}"
    package = {
        "name": "package",
        "then": ACCEPTANCE,
        "steps": [
            {"kind": "property", "property": "version", "command": ["cat", "VERSION"]},
            TREE,
            {"kind": "run", "name": "publish", "command": ["true"], "branches": ["release"]},
            # Not halting: a failed build reaches its trigger step, which it skips.
            {
                "kind": "run",
                "name": "check",
                "command": ["sh", "check.sh"],
                "halt_on_failure": False,
            },
        ],
    }
    acceptance = [
        {
            "name": name,
            "triggered": True,
            "locks": ["aws-account"],
            "steps": [
                TREE,
                {
                    "kind": "run",
                    "name": "version",
                    "command": ["echo", "version=%(prop:version)s at 100%"],
                },
                {"kind": "run", "name": "hold", "command": ["sh", "-c", hold]},
            ],
        }
        for name in ACCEPTANCE
    ]
    return [package, *acceptance]


@pytest.fixture(scope="module")
def github_api() -> Iterator[RecordingServer]:
    with RecordingServer(status=201) as server:
        yield server


@pytest.fixture(scope="module")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory, github_api: RecordingServer
) -> Iterator[tuple[Master, GitRepo, Path]]:
    """The master (reporting statuses to ``github_api``), its repository, and the log of
    the lock's holders (``+`` on taking it, ``-`` on leaving)."""
    root = tmp_path_factory.mktemp("pipeline")
    repo = GitRepo(root / "repo")
    repo.commit({"README": "hello\n", "VERSION": "1.2.3\n"}, "initial")
    repo.push()
    hold_log = root / "holders.log"
    settings = local_settings(
        repo.url,
        builders(hold_log),
        workers={"kind": "local", "count": 3, "password": "pipeline-pw"},
        locks={"aws-account": 2},
        github={"token": "ghp_pipeline", "webhook_secret": "hook", "api_url": github_api.url},
    )
    cluster = LocalCluster(root / "master", copy.deepcopy(settings))
    cluster.start()
    try:
        master = Master(cluster)
        master.wait_workers(3)
        yield master, repo, hold_log
    finally:
        cluster.stop()


def tree_of(master: Master, build: dict[str, Any]) -> str:
    """The tree id the build's worker had checked out and merged."""
    text = master.log(build["buildid"], "tree")
    [tree] = re.findall(r"^[0-9a-f]{40}$", text, re.MULTILINE)
    return str(tree)


def parent_of(master: Master, build: dict[str, Any]) -> int:
    """The build that triggered ``build`` (its buildset's parent), as the UI links it."""
    [request] = master.get(f"buildrequests/{build['buildrequestid']}")["buildrequests"]
    [buildset] = master.get(f"buildsets/{request['buildsetid']}")["buildsets"]
    return int(buildset["parent_buildid"])


def line_of(log: str, prefix: str) -> str:
    return next(line for line in log.splitlines() if line.startswith(prefix))


def test_triggered_builds_build_the_same_merged_tree_under_the_lock(
    pipeline: tuple[Master, GitRepo, Path],
) -> None:
    master, repo, hold_log = pipeline
    mover = repo.work.parent / "move-master.sh"
    # Run by the feature branch's check: master moves on while the pipeline runs.
    exports = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in GIT_ENV.items())
    mover.write_text(
        f"{exports}set -e\ncd {shlex.quote(str(repo.work))}\ngit checkout --quiet master\n"
        "echo moved > moved.txt\ngit add moved.txt\ngit commit --quiet -m moved\n"
        "git push --quiet origin master\n"
    )
    repo.push_commit("feature", {"check.sh": f"sh {shlex.quote(str(mover))}\n"}, start="master")

    builds = master.wait_for_builds(5)
    master.wait_idle()
    builds = master.builds(complete="true", order="buildid")
    by_builder = {master.builder(name)["builderid"]: name for name in ["package", *ACCEPTANCE]}
    named = [(by_builder[b["builderid"]], b) for b in builds]
    packages = [b for name, b in named if name == "package"]
    accepted = [b for name, b in named if name in ACCEPTANCE]

    feature, on_master = packages
    assert feature["results"] == SUCCESS
    assert master.properties(feature["buildid"])["branch"] == "feature"
    # The master build (of the pushed move) failed and triggered nothing.
    assert on_master["results"] == FAILURE
    assert master.properties(on_master["buildid"])["branch"] == "master"
    assert sorted(by_builder[b["builderid"]] for b in accepted) == ACCEPTANCE

    steps = {step["name"]: step for step in master.steps(feature["buildid"])}
    assert steps["publish"]["results"] == SKIPPED
    assert steps["publish"]["state_string"] == "only on release (skipped)"
    trigger_props = master.properties(feature["buildid"])
    assert trigger_props["version"] == "1.2.3"
    moved = repo.git("rev-parse", "origin/master")
    assert trigger_props["merge_target_revision"] != moved  # master did move on
    for build in accepted:
        assert build["results"] == SUCCESS
        assert parent_of(master, build) == feature["buildid"]
        props = master.properties(build["buildid"])
        assert props["merged_revision"] == trigger_props["merged_revision"]
        assert tree_of(master, build) == tree_of(master, feature)
        version = master.log(build["buildid"], "version")
        assert line_of(version, "version=") == "version=1.2.3 at 100%"

    holders, most = 0, 0
    for mark in hold_log.read_text().split():
        holders += 1 if mark == "+" else -1
        most = max(most, holders)
    assert most == 2, hold_log.read_text()


def test_failed_build_shows_its_trigger_skipped(pipeline: tuple[Master, GitRepo, Path]) -> None:
    master, _, _ = pipeline
    [failed] = master.builds(complete="true", results=FAILURE)
    steps = {s["name"]: s for s in master.steps(failed["buildid"])}
    assert steps["check"]["results"] == FAILURE, steps
    assert steps["trigger"]["results"] == SKIPPED
    assert steps["trigger"]["state_string"] == "not triggered: the build did not succeed"


def test_triggered_builders_have_statuses_from_the_pipeline_start(
    pipeline: tuple[Master, GitRepo, Path], github_api: RecordingServer
) -> None:
    master, _, _ = pipeline
    [feature, on_master] = [
        b
        for b in master.builds(complete="true", order="buildid")
        if b["builderid"] == master.builder("package")["builderid"]
    ]
    feature_sha = master.properties(feature["buildid"])["got_revision"]
    master_sha = master.properties(on_master["buildid"])["got_revision"]

    def sent(sha: str) -> list[tuple[str, str, str]]:
        return [
            (r.body["context"], r.body["state"], r.body["description"])
            for r in github_api.recorded()
            if r.body and r.path.endswith(f"/statuses/{sha}")
        ]

    def final(sha: str, context: str) -> list[tuple[str, str, str]] | None:
        found = sent(sha)
        mine = [s for s in found if s[0] == context]
        return found if mine and mine[-1][1] != "pending" else None

    found = wait_for("accept-a's final status", lambda: final(feature_sha, "buildbot/accept-a"))
    waiting = ("buildbot/accept-a", "pending", "Waiting for package.")
    package_done = ("buildbot/package", "success", "Build succeeded.")
    # Pending as soon as package started: before package's own result.
    assert waiting in found, found
    assert found.index(waiting) < found.index(package_done)
    assert ("buildbot/accept-a", "success", "Build succeeded.") in found
    # The failed package build of master says its triggered builders will not run.
    found = wait_for("accept-a's status on master", lambda: final(master_sha, "buildbot/accept-a"))
    accept = [s for s in found if s[0] == "buildbot/accept-a"]
    assert accept == [
        waiting,
        ("buildbot/accept-a", "failure", "Not run: package did not succeed."),
    ]
