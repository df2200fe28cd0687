"""The botmaster looks for builds to start ``QUIET`` after a new request, however many follow."""

from __future__ import annotations

from types import SimpleNamespace

from buildbot.process.botmaster import BotMaster
from twisted.internet.task import Clock

from mends import build_start


def botmaster(clock: Clock, looked: list[list[str]]) -> BotMaster:
    """A botmaster of five builders, noting in ``looked`` the builders it looks at."""
    found = BotMaster()
    found.parent = SimpleNamespace(master=SimpleNamespace(reactor=clock))
    found.brd = SimpleNamespace(maybeStartBuildsOn=looked.append)
    found._builders_byid = {n: SimpleNamespace(name=f"builder-{n}") for n in range(5)}
    return found


def test_requests_that_keep_coming_do_not_hold_back_the_first_builds() -> None:
    build_start.install()
    clock, looked = Clock(), list[list[str]]()
    mended = botmaster(clock, looked)

    # A request every 5 ms, each sooner than QUIET after the one before.
    for builderid in range(5):
        mended._buildrequest_added(None, {"builderid": builderid})
        clock.advance(0.005)
    assert looked and looked[0] == ["builder-0", "builder-1"]  # 10 ms after the first

    clock.advance(build_start.QUIET)
    assert sorted(name for names in looked for name in names) == [f"builder-{n}" for n in range(5)]
