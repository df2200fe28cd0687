"""The botmaster looks for builds to start ``QUIET`` after a new request, however many follow."""

from __future__ import annotations

from types import SimpleNamespace

from buildbot.process.botmaster import BotMaster
from twisted.internet.task import Clock

from config import build_start


def test_requests_that_keep_coming_do_not_hold_back_the_first_builds() -> None:
    build_start.install()
    clock = Clock()
    botmaster = BotMaster()
    botmaster.parent = SimpleNamespace(master=SimpleNamespace(reactor=clock))
    looked: list[list[str]] = []
    botmaster.brd = SimpleNamespace(maybeStartBuildsOn=looked.append)
    botmaster._builders_byid = {n: SimpleNamespace(name=f"builder-{n}") for n in range(5)}

    # A request every 5 ms, each sooner than QUIET after the one before.
    for builderid in range(5):
        botmaster._buildrequest_added(None, {"builderid": builderid})
        clock.advance(0.005)
    assert looked and looked[0] == ["builder-0", "builder-1"]  # 10 ms after the first

    clock.advance(build_start.QUIET)
    assert sorted(name for names in looked for name in names) == [f"builder-{n}" for n in range(5)]
