"""The checkout: one remote command, and what the step makes of its outcome.

``checkout.sh`` itself runs on real repositories in the integration tests (every build
starts with it; ``tests/integration/test_checkout.py`` covers warm, cold and broken trees).
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

from buildbot.process.results import FAILURE, SUCCESS
from twisted.internet import defer
from twisted.trial import unittest

from config.builds.checkout import CHECKOUT_SCRIPT, Checkout

# As in test_merge_forward: keep buildbot.test's warnings-as-errors out of our suite.
with warnings.catch_warnings():
    from buildbot.test.reactor import TestReactorMixin
    from buildbot.test.steps import ExpectShell, TestBuildStepMixin

REPO = "https://github.com/ClusterHQ/flocker"
SHA = "f" * 40


def script(branch: str, revision: str) -> ExpectShell:
    return ExpectShell(
        workdir="wkdir",
        command=["sh", "-s", REPO, branch, revision],
        initial_stdin=CHECKOUT_SCRIPT,
        log_environ=False,
    )


class CheckoutTests(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    def setUp(self) -> Any:
        self.setup_test_reactor()
        return self.setup_test_build_step()

    def start(self, branch: str | None, revision: str | None, changes: list[Any]) -> None:
        self.setup_step(Checkout(repourl=REPO))
        push = SimpleNamespace(branch=branch, revision=revision, patch=None, changes=changes)
        self.build.sources[""] = push

    @defer.inlineCallbacks
    def test_pushed_commit_is_checked_out_in_one_command(self) -> Any:
        self.start("feature", SHA, [])
        self.expect_commands(script("feature", SHA).stdout(f"revision {SHA}\n").exit(0))
        self.expect_outcome(result=SUCCESS, state_string="update")
        self.expect_property("got_revision", SHA, "Checkout")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_without_a_revision_the_newest_change_is_checked_out(self) -> Any:
        self.start("feature", None, [SimpleNamespace(revision="a" * 40)])
        self.expect_commands(script("feature", "a" * 40).stdout(f"revision {'a' * 40}\n").exit(0))
        self.expect_outcome(result=SUCCESS)
        yield self.run_step()

    @defer.inlineCallbacks
    def test_forced_build_without_branch_takes_the_default_branch_head(self) -> Any:
        self.start(None, None, [])
        self.expect_commands(script("HEAD", "").stdout(f"revision {SHA}\n").exit(0))
        self.expect_outcome(result=SUCCESS)
        self.expect_property("got_revision", SHA, "Checkout")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_a_revision_printed_twice_is_not_taken(self) -> Any:
        self.start("feature", SHA, [])
        self.expect_commands(
            script("feature", SHA).stdout(f"revision {'e' * 40}\nrevision {SHA}\n").exit(0)
        )
        self.expect_outcome(
            result=FAILURE,
            state_string="the checkout printed its revision more than once (failure)",
        )
        self.expect_no_property("got_revision")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_unknown_commit_fails_naming_it(self) -> Any:
        self.start("feature", SHA, [])
        self.expect_commands(script("feature", SHA).exit(5))
        self.expect_outcome(result=FAILURE, state_string=f"no commit {SHA} on feature (failure)")
        self.expect_no_property("got_revision")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_unreachable_repository_fails_naming_it(self) -> Any:
        self.start("feature", SHA, [])
        self.expect_commands(script("feature", SHA).exit(3))
        self.expect_outcome(result=FAILURE, state_string=f"cannot clone {REPO} (failure)")
        yield self.run_step()
