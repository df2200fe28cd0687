"""The botmaster looks for builds to start after ``QUIET`` without new requests."""

from __future__ import annotations

from buildbot.process.botmaster import BotMaster

from config import build_start


def test_botmaster_waits_the_short_quiet_time_for_a_buildsets_requests() -> None:
    build_start.install()
    botmaster = BotMaster()

    assert botmaster._flush_pending_builders.wait == build_start.QUIET < 0.1
