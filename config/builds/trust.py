"""Which builds run untrusted code, and the rule that keeps them on untrusted pools.

A pull request from a fork is someone else's code: its builds are untrusted, and so is a
forced build of a ``refs/pull/<n>/head`` ref. Untrusted builds run only on the workers of
pools marked ``untrusted`` (ephemeral ones: a new machine or container per build), and
trusted builds never run there, so nothing an untrusted build leaves behind meets a
trusted one. The rule is Buildbot's ``canStartBuild`` of every builder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

UNTRUSTED = "untrusted"
"""The change (and build) property of untrusted code."""
PULL_REFS = "refs/pull/"


def is_untrusted(request: Any) -> bool:
    """Whether a build request (Buildbot's ``BuildRequest``) builds untrusted code."""
    for source in request.sources.values():
        if str(source.branch or "").startswith(PULL_REFS):
            return True
        if any(change.properties.getProperty(UNTRUSTED) for change in source.changes):
            return True
    return bool(request.properties.getProperty(UNTRUSTED))


def builds_untrusted(build: Any) -> bool:
    """Whether a build (Buildbot's ``Build``) builds untrusted code for any of its requests."""
    return any(is_untrusted(request) for request in build.requests)


def keeps_trust(untrusted_workers: Iterable[str]) -> Callable[[Any, Any, Any], bool]:
    """A builder's ``canStartBuild``: untrusted requests start on the named workers only,
    trusted ones anywhere else."""
    names = frozenset(untrusted_workers)

    def can_start(builder: Any, worker_for_builder: Any, request: Any) -> bool:
        return (worker_for_builder.worker.workername in names) == is_untrusted(request)

    return can_start
