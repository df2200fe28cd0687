"""Master errors reach the ops stream at most once per interval, and only the newest few."""

from __future__ import annotations

import collections
from types import SimpleNamespace
from typing import Any

from twisted.internet import defer
from twisted.internet.task import Clock

from config.zulip.errors import MasterErrors


class Posts:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def post(self, stream: str, topic: str, content: str) -> defer.Deferred[None]:
        self.sent.append((stream, topic, content))
        return defer.succeed(None)


def errors_service(clock: Clock, posts: Posts, keep: int = 2) -> MasterErrors:
    """The service in the state its reconfigService leaves it, on a fake clock."""
    service: Any = MasterErrors.__new__(MasterErrors)
    master = SimpleNamespace(reactor=clock, config=SimpleNamespace(title="CI"))
    service.parent = SimpleNamespace(master=master)
    service.stream, service.interval = "ops", 60.0
    service.errors = collections.deque(maxlen=keep)
    service.dropped, service._flush, service._http = 0, None, posts
    return service  # type: ignore[no-any-return]


def error(text: str) -> dict[str, Any]:
    return {"isError": 1, "log_format": "{text}", "text": text}


def test_errors_are_batched_per_interval_and_bounded() -> None:
    clock, posts = Clock(), Posts()
    service = errors_service(clock, posts)

    service.record({"log_format": "just news", "isError": 0})
    for n in range(5):
        service.record(error(f"boom {n}"))
    clock.advance(59)
    assert posts.sent == []
    clock.advance(1)
    assert posts.sent == [
        ("ops", "CI master errors", "```\nboom 3\n```\n```\nboom 4\n```\n\n(3 more left out)")
    ]

    service.record(error("later"))
    clock.advance(60)
    assert posts.sent[1] == ("ops", "CI master errors", "```\nlater\n```")
    clock.advance(600)
    assert len(posts.sent) == 2
