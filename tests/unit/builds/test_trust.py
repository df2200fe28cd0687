"""Which build requests run untrusted code, and where each may start."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from buildbot.process.properties import Properties

from config.builds.trust import is_untrusted, keeps_trust


def request(branch: str, **change: Any) -> Any:
    """A build request as Buildbot hands it to ``canStartBuild``: sources with changes."""
    changes = [SimpleNamespace(properties=Properties(**change))]
    source = SimpleNamespace(branch=branch, changes=changes)
    return SimpleNamespace(sources={"": source}, properties=Properties())


@pytest.mark.parametrize(
    ("built", "untrusted"),
    [
        (request("feature"), False),
        (request("feature", pull_request=3), False),  # a same-repository pull request
        (request("refs/pull/3/head"), True),  # a fork's head, forced or delivered
        (request("refs/pull/3/head", untrusted=True), True),
        (request("anything", untrusted=True), True),
    ],
)
def test_untrusted_requests(built: Any, untrusted: bool) -> None:
    assert is_untrusted(built) is untrusted


def test_untrusted_requests_start_on_untrusted_workers_and_trusted_ones_elsewhere() -> None:
    can_start = keeps_trust(["forks-1"])

    def on(worker: str) -> Any:
        return SimpleNamespace(worker=SimpleNamespace(workername=worker))

    fork, push = request("refs/pull/9/head", untrusted=True), request("master")
    assert can_start(None, on("forks-1"), fork) and not can_start(None, on("local-1"), fork)
    assert can_start(None, on("local-1"), push) and not can_start(None, on("forks-1"), push)
