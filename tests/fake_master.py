"""Buildbot's stand-in master, each in a directory of its own.

``fakemaster.make_master`` defaults to ``basedir`` under the current directory, and its
clean-up removes that directory: two test processes sharing one checkout (``pytest -n``)
would remove it under each other's masters.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from typing import Any

from twisted.internet import defer

with warnings.catch_warnings():  # see tests/unit/builds/test_merge.py
    warnings.simplefilter("ignore")
    from buildbot.test.fake import fakemaster


def make_master(testcase: Any, **kwargs: Any) -> defer.Deferred[Any]:
    """``fakemaster.make_master`` with ``kwargs``, in a new temporary directory that is
    removed after the test."""
    basedir = tempfile.mkdtemp(prefix="fakemaster-")
    testcase.addCleanup(shutil.rmtree, basedir, True)
    return defer.ensureDeferred(fakemaster.make_master(testcase, basedir=basedir, **kwargs))
