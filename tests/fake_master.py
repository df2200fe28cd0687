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
    from buildbot.test import fakedb
    from buildbot.test.fake import fakemaster


def make_master(testcase: Any, **kwargs: Any) -> defer.Deferred[Any]:
    """``fakemaster.make_master`` with ``kwargs``, in a new temporary directory that is
    removed after the test."""
    basedir = tempfile.mkdtemp(prefix="fakemaster-")
    testcase.addCleanup(shutil.rmtree, basedir, True)
    return defer.ensureDeferred(fakemaster.make_master(testcase, basedir=basedir, **kwargs))


def database_calls(testcase: Any, master: Any) -> list[str]:
    """The names of the functions ``master``'s database runs from now on, in order (each
    call into its thread, a transaction's as ``_transaction``)."""
    called: list[str] = []
    do = master.db.pool.do

    def recorded(callable: Any, *args: Any, **kwargs: Any) -> Any:
        called.append(getattr(callable, "__qualname__", repr(callable)))
        return do(callable, *args, **kwargs)

    testcase.patch(master.db.pool, "do", recorded)
    return called


def one_build(buildid: int) -> list[Any]:
    """Test rows for a build ``buildid`` of builder 1, on master 1 and worker 1."""
    return [
        fakedb.Master(id=1),
        fakedb.Builder(id=1, name="tests"),
        fakedb.Worker(id=1, name="w"),
        fakedb.Buildset(id=1),
        fakedb.BuildRequest(id=1, buildsetid=1, builderid=1),
        fakedb.Build(id=buildid, number=1, builderid=1, buildrequestid=1, masterid=1, workerid=1),
    ]
