"""How the bench charges a sampled stack of the master to one of its parts."""

from __future__ import annotations

from bench.profile import parts

REACTOR = (
    "<module> (buildbot:6);run (buildbot/scripts/runner.py:868);"
    "run (twisted/internet/base.py:686);mainLoop (twisted/internet/base.py:697)"
)
POOL = (
    "_bootstrap (threading.py:1002);work (twisted/_threads/_threadworker.py:76);"
    "inContext (twisted/python/threadpool.py:269)"
)


def test_each_stack_goes_to_ours_then_a_service_then_its_innermost_layer() -> None:
    raw = "\n".join(
        [
            # Our code, called by a reporter, pays for the database work it sets off.
            f"{REACTOR};generate (buildbot/reporters/base.py:10);"
            "send (config/github/statuses.py:40);getBuild (buildbot/db/builds.py:99) 7",
            # A reporter without our code on the stack.
            f"{REACTOR};sendMessage (buildbot/reporters/base.py:12);"
            "get (buildbot/data/connector.py:5) 3",
            # A pool thread in the database.
            f"{POOL};__thd (buildbot/db/pool.py:214);execute (sqlalchemy/engine/base.py:1494) 5",
            # Reactor I/O with no Buildbot part on it.
            f"{REACTOR};doWrite (twisted/internet/abstract.py:305) 2",
            # Waiting is no part's cost.
            f"{REACTOR};doPoll (twisted/internet/epollreactor.py:227) 50",
            f"{POOL};wait (threading.py:320) 40",
            # A frame name across lines (a docstring py-spy printed) is skipped.
            "205: This module is an implementation of PEP 205:",
        ]
    )
    assert parts(raw) == {
        "config.github.statuses": 7,
        "buildbot: database": 5,
        "buildbot: reporters": 3,
        "twisted: reactor and I/O": 2,
    }
