"""Reports fetched from a worker: the master keeps no more than it asked for."""

from __future__ import annotations

from config.builds.reports import _Collected


def test_a_worker_sending_past_its_limit_is_counted_not_kept() -> None:
    collected = _Collected(keep=10)
    for _ in range(1000):
        collected.remote_write(b"x" * 1000)
    assert collected.size == 1_000_000  # what it sent, so the step says "too big"
    assert b"".join(collected.chunks) == b"x" * 10
