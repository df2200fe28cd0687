"""MergeForward, case by case: the exact commands it sends a worker, and what it sets.

The script these commands run is exercised on real repositories in
``tests/integration/test_merge.py``; here the worker answers as the script would.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import pytest
from buildbot.process.results import FAILURE, SUCCESS
from twisted.internet import defer
from twisted.trial import unittest

from config.builds.branches import merge_plan
from config.builds.merge import EMPTY_TREE, MERGE_SCRIPT, MergeForward
from config.settings import BotIdentity, Project

# Importing buildbot.test turns every warning of the whole process into an error (Buildbot's
# own suite wants that); keep that setting out of the rest of ours.
with warnings.catch_warnings():
    from buildbot.test.reactor import TestReactorMixin
    from buildbot.test.steps import ExpectShell, TestBuildStepMixin

REPO = "https://github.com/ClusterHQ/flocker"
PROJECT = Project.model_validate(
    {
        "name": "flocker",
        "repository": REPO,
        "builders": [{"name": "tests", "steps": [{"kind": "run", "command": ["true"]}]}],
    }
)
BOT = BotIdentity(name="Merge Bot", email="bot@example.com")
IDENTITY = {
    "GIT_AUTHOR_NAME": "Merge Bot",
    "GIT_AUTHOR_EMAIL": "bot@example.com",
    "GIT_COMMITTER_NAME": "Merge Bot",
    "GIT_COMMITTER_EMAIL": "bot@example.com",
}


def git(*args: str) -> ExpectShell:
    return ExpectShell(workdir="wkdir", command=["git", *args], env={}, log_environ=False)


def script(case: str, target: str, branch: str) -> ExpectShell:
    """The one command of a release or merge: ``merge_forward.sh`` with its arguments."""
    arguments = [case, REPO, target, f"Merge {target} into {branch}"]
    return ExpectShell(
        workdir="wkdir",
        command=["sh", "-s", *arguments],
        env=IDENTITY,
        initial_stdin=MERGE_SCRIPT,
        log_environ=False,
    )


class MergeForwardTests(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    def setUp(self) -> Any:
        self.setup_test_reactor()
        return self.setup_test_build_step()

    def start(self, branch: str, *, tag: bool = False) -> None:
        self.setup_step(MergeForward(PROJECT, BOT))
        self.build.setProperty("branch", branch, "test")
        if tag:
            change = SimpleNamespace(category="tag", files=[])
            self.build.sources[""] = SimpleNamespace(changes=[change])

    def expect_base(self, base: str) -> None:
        self.expect_property("merge_base", base, "merge-forward")
        self.expect_property("lint_revision", base, "merge-forward")

    @defer.inlineCallbacks
    def test_merge_into_branch_is_not_merged_and_lints_against_its_parent(self) -> Any:
        self.start("master")
        self.expect_commands(
            git("rev-parse", "--verify", "--quiet", "HEAD~1").stdout("abc123\n").exit(0)
        )
        self.expect_outcome(SUCCESS, "no merge: master itself")
        self.expect_base("abc123")
        self.expect_no_property("merged_revision")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_first_commit_lints_against_the_empty_tree(self) -> Any:
        self.start("master")
        self.expect_commands(git("rev-parse", "--verify", "--quiet", "HEAD~1").exit(1))
        self.expect_outcome(SUCCESS, "no merge: master itself")
        self.expect_base(EMPTY_TREE)
        yield self.run_step()

    @defer.inlineCallbacks
    def test_feature_branch_is_merged_as_the_bot_dated_like_the_push(self) -> Any:
        self.start("feature/x")
        self.expect_commands(
            script("merge", "master", "feature/x").stdout("base base1\nmerged merged1\n").exit(0)
        )
        self.expect_outcome(SUCCESS, "merged master")
        self.expect_base("base1")
        self.expect_property("merged_revision", "merged1", "merge-forward")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_a_line_printed_twice_is_not_taken_for_the_scripts(self) -> Any:
        # Something the merge started that kept its output wrote first, the script after.
        self.start("feature/x")
        self.expect_commands(
            script("merge", "master", "feature/x")
            .stdout("base evil\nmerged evil\nbase base1\nmerged merged1\n")
            .exit(0)
        )
        self.expect_outcome(FAILURE, "the merge printed base, merged more than once (failure)")
        self.expect_no_property("merged_revision")
        yield self.run_step()

    def expect_release(self, branch: str, *, tag: bool = False) -> Any:
        """A release: the merge base with master is taken, nothing is merged."""
        self.start(branch, tag=tag)
        self.expect_commands(script("release", "master", branch).stdout("base base2\n").exit(0))
        self.expect_outcome(SUCCESS, f"no merge: release {branch}")
        self.expect_base("base2")
        self.expect_no_property("merged_revision")
        return self.run_step()

    def test_release_branch_is_not_merged_and_bases_on_the_merge_base(self) -> Any:
        return self.expect_release("release/1.2")

    def test_version_tag_builds_like_a_release(self) -> Any:
        return self.expect_release("1.2.3rc1")

    def test_any_pushed_tag_builds_like_a_release(self) -> Any:
        return self.expect_release("nightly", tag=True)

    @defer.inlineCallbacks
    def test_maintenance_branch_merges_into_its_release_branch(self) -> Any:
        self.start("release-maintenance/1.2/fix-thing")
        self.expect_commands(
            script("merge", "release/1.2", "release-maintenance/1.2/fix-thing")
            .stdout("base base5\nmerged merged5\n")
            .exit(0)
        )
        self.expect_outcome(SUCCESS, "merged release/1.2")
        self.expect_base("base5")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_conflict_fails_naming_the_files_and_leaves_no_merge_behind(self) -> Any:
        self.start("feature")
        self.expect_commands(
            script("merge", "master", "feature")
            .stdout("base base6\nconflict a.txt\nconflict docs/b.rst\n")
            .exit(5)
        )
        self.expect_outcome(FAILURE, "merge conflict with master: a.txt, docs/b.rst (failure)")
        self.expect_no_property("merged_revision")
        yield self.run_step()
        assert self.get_nth_step(0).haltOnFailure

    @defer.inlineCallbacks
    def test_merge_failing_without_conflicts_fails_the_step(self) -> Any:
        self.start("feature")
        self.expect_commands(script("merge", "master", "feature").stdout("base base7\n").exit(5))
        self.expect_outcome(FAILURE, "cannot merge master (failure)")
        self.expect_base("base7")
        self.expect_no_property("merged_revision")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_missing_merge_target_fails(self) -> Any:
        self.start("release-maintenance/9.9/fix")
        self.expect_commands(script("merge", "release/9.9", "release-maintenance/9.9/fix").exit(3))
        self.expect_outcome(FAILURE, "cannot fetch release/9.9 (failure)")
        self.expect_no_property("merge_base")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_unrelated_history_fails(self) -> Any:
        self.start("orphan")
        self.expect_commands(script("merge", "master", "orphan").exit(4))
        self.expect_outcome(FAILURE, "no history in common with master (failure)")
        yield self.run_step()


@pytest.mark.parametrize(
    ("branch", "kind", "target"),
    [
        ("master", "main", "master"),
        (None, "main", "master"),
        ("release/2.0", "release", "master"),
        ("2.0.1", "release", "master"),
        ("2.0.1.post1", "release", "master"),
        ("2.0.1dev3", "release", "master"),
        ("release-maintenance/2.0/fix", "merge", "release/2.0"),
        ("release-maintenance/", "merge", "master"),
        ("feature-2.0", "merge", "master"),
        ("2.x", "merge", "master"),
    ],
)
def test_plan_per_branch_name(branch: str | None, kind: str, target: str) -> None:
    found = merge_plan(branch, PROJECT)
    assert (found.kind, found.target) == (kind, target)


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("refs/pull/7/head", ("merge", "release/2")),
        ("master", ("main", "master")),
        ("release/3", ("release", "master")),
    ],
)
def test_forced_base_is_merged_instead_of_merge_into(
    branch: str, expected: tuple[str, str]
) -> None:
    found = merge_plan(branch, PROJECT, base="release/2")
    assert (found.kind, found.target) == expected


def test_master_log_names_the_step_by_its_project_not_every_recipe() -> None:
    step = MergeForward(PROJECT, BOT)
    assert str(step) == repr(step) == "MergeForward(project='flocker')"
