"""The step that puts a staged directory in S3 refuses, before any S3 request, a prefix a
build's property makes leave its place and untrusted code, and removes the staged copy
all the same."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from buildbot.process.properties import Properties
from buildbot.process.results import FAILURE, SKIPPED
from twisted.internet import defer
from twisted.trial import unittest

from config.builds.storage import S3Access, StagedUpload, ToS3
from config.settings import S3Place

with warnings.catch_warnings():
    from buildbot.test.reactor import TestReactorMixin
    from buildbot.test.steps import TestBuildStepMixin

PLACE = S3Place(bucket="docs", prefix="docs/%(prop:version)s")
# No S3 answers at this address: a request would fail the step with another reason.
NOWHERE = S3Access(region="us-east-1", endpoint_url="http://127.0.0.1:9")


class ToS3Tests(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    def setUp(self) -> Any:
        self.setup_test_reactor()
        return self.setup_test_build_step()

    def start(self, version: str, sync: bool = False, untrusted: bool = False, **how: Any) -> Path:
        """The step, with ``version`` set by the build; the staged directory."""
        self.setup_step(
            ToS3(upload="docs", place=PLACE, access=NOWHERE, sync=sync, name="docs-to-S3", **how)
        )
        self.master.basedir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.master.basedir)
        for name, value in {
            "project": "flocker",
            "branch": "release/1.0",
            "buildername": "docs",
            "buildnumber": 3,
            "version": version,
        }.items():
            self.build.setProperty(name, value, "test")
        request = Properties()
        if untrusted:
            request.setProperty("untrusted", True, "test")
        self.build.requests = [SimpleNamespace(sources={}, properties=request)]
        staged = Path(self.master.basedir, "s3-staging/flocker/release/1.0/docs-3/docs")
        staged.mkdir(parents=True)
        (staged / "index.html").write_text("hi\n")
        return staged

    @defer.inlineCallbacks
    def test_a_version_that_climbs_out_fails_the_step(self) -> Any:
        staged = self.start("../../etc")
        self.expect_outcome(
            FAILURE, "prefix \"docs/../../etc\" must not have an empty, '.' or '..' part"
        )
        yield self.run_step()
        assert not staged.exists()
        assert not Path(self.master.basedir, "s3-staging", "flocker").exists()

    @defer.inlineCallbacks
    def test_a_version_printed_empty_fails_the_step(self) -> Any:
        # docs/ would be the parent of every version: a publish would delete them all.
        staged = self.start("")
        self.expect_outcome(
            FAILURE,
            'prefix "docs/" must have at least 2 parts as "docs/%(prop:version)s" does'
            " (a property printed empty)",
        )
        yield self.run_step()
        assert not staged.exists()

    @defer.inlineCallbacks
    def test_stable_inside_the_prefix_fails_the_step(self) -> Any:
        self.start("1.0", sync=True, stable="docs/1.0/latest")
        self.expect_outcome(FAILURE, "stable docs/1.0/latest and prefix docs/1.0 hold one another")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_s3_out_of_reach_fails_the_step_in_a_line(self) -> Any:
        staged = self.start("1.0")
        step = self.get_nth_step(0)
        step.key_id, step.secret = "key-id", "secret"  # as the settings' secrets render
        self.expect_outcome(FAILURE)
        yield self.run_step()
        reason = self.get_nth_step(0).getResultSummary()["step"]
        assert reason.startswith('S3: Could not connect to the endpoint URL: "http://127.0.0.1:9/')
        assert "\n" not in reason
        assert not staged.exists()

    @defer.inlineCallbacks
    def test_untrusted_code_puts_nothing_in_s3(self) -> Any:
        staged = self.start("1.0", untrusted=True)
        self.expect_outcome(SKIPPED, "docs: not put in S3 for untrusted code (skipped)")
        yield self.run_step()
        assert not staged.exists()

    @defer.inlineCallbacks
    def test_untrusted_code_sends_nothing_to_the_master(self) -> Any:
        self.setup_step(StagedUpload(budget=1024, workersrc="html", masterdest="x", name="docs"))
        untrusted = Properties()
        untrusted.setProperty("untrusted", True, "test")
        self.build.requests = [SimpleNamespace(sources={}, properties=untrusted)]
        # No command is expected on the worker: none may be sent.
        self.expect_outcome(SKIPPED, "docs: not sent for untrusted code (skipped)")
        yield self.run_step()

    @defer.inlineCallbacks
    def test_nothing_staged_is_skipped(self) -> Any:
        staged = self.start("1.0", sync=False)
        (staged / "index.html").unlink()
        staged.rmdir()
        self.expect_outcome(SKIPPED, "docs: nothing to put in S3 (skipped)")
        yield self.run_step()
