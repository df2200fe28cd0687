"""The checkout on a warm worker: only the remote commands that do git work."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

from buildbot.process.results import SUCCESS
from twisted.internet import defer
from twisted.trial import unittest

from config.steps import Checkout

# As in test_merge_forward: keep buildbot.test's warnings-as-errors out of our suite.
with warnings.catch_warnings():
    from buildbot.test.reactor import TestReactorMixin
    from buildbot.test.steps import ExpectListdir, ExpectShell, TestBuildStepMixin

REPO = "https://github.com/ClusterHQ/flocker"
SHA = "f" * 40


def git(*args: str) -> ExpectShell:
    return ExpectShell(workdir="wkdir", command=["git", *args])


class CheckoutTests(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    def setUp(self) -> Any:
        self.setup_test_reactor()
        return self.setup_test_build_step()

    @defer.inlineCallbacks
    def test_warm_checkout_asks_no_git_version_and_no_patch_marker(self) -> Any:
        self.setup_step(Checkout(repourl=REPO, mode="full", method="fresh"))
        push = SimpleNamespace(branch="feature", revision=None, patch=None, changes=[])
        self.build.sources[""] = push
        self.expect_commands(
            ExpectListdir(dir="wkdir").files([".git"]).exit(0),
            git("clean", "-f", "-f", "-d", "-x").exit(0),
            git("fetch", "-f", "--progress", REPO, "feature").exit(0),
            git("checkout", "-f", "FETCH_HEAD").exit(0),
            git("checkout", "-B", "feature").exit(0),
            git("rev-parse", "HEAD").stdout(SHA + "\n").exit(0),
        )
        self.expect_outcome(result=SUCCESS)
        self.expect_property("got_revision", SHA, "Checkout")
        yield self.run_step()
