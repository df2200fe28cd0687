"""The one place that shortens Buildbot 4.3's wait before it starts a new request's build.

Buildbot's botmaster waits until no new build request has come for 0.1 s before it looks
for builds to start, so that the requests of one buildset, which come in a quick burst,
are handled together. The burst takes a few milliseconds on a master, so the 0.1 s was
most of the time from a push's tree-stable timer to its build's start (``make bench``).
And as the wait starts again with every new request, pushes that keep coming a little
faster than that (20 branches pushed at once) left every worker idle until the last
one was in. The wait is Buildbot's own debouncer, kept with a shorter wait that still
covers a buildset's burst, counted from the first request: requests that come while the
botmaster looks are looked at right after. Buildbot has no setting for it, so the mend
sets the debouncer's wait and mode.
"""

from __future__ import annotations

from typing import Any

from buildbot.process.botmaster import BotMaster

# Seconds from a new request until the botmaster looks for builds to start.
QUIET = 0.01


def install() -> None:
    """Make every botmaster of this process wait ``QUIET`` from the first new request
    (idempotent). The debouncer reads both when first used, after the configuration has
    loaded."""
    debounced: Any = vars(BotMaster)["_flush_pending_builders"]
    debounced.wait = QUIET
    debounced.until_idle = False
