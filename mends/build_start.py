"""The botmaster looks for builds to start 0.01 s after the first new request.

Replaces: ``buildbot.process.botmaster.BotMaster._flush_pending_builders`` (its debouncer).

Defect (a cost): the botmaster waits until no new build request has come for 0.1 s before
it looks for builds to start, so that the requests of one buildset, which come in a quick
burst, are handled together. The burst takes a few milliseconds, so the 0.1 s was most
of the time from a push's tree-stable timer to its build's start. And as the wait starts
again with every new request, pushes that keep coming a little faster than that (twenty
branches pushed at once) left every worker idle until the last one was in. Buildbot has
no setting for it. No upstream issue yet.

Mend: the same debouncer around upstream's function, waiting ``QUIET`` counted from the
first request; requests that come while the botmaster looks are looked at right after.

Gain: see the mends table of docs/mends.rst (``make bench``, rows "push to build start" and
"burst: master overhead per build", with this mend off).

Remove when: upstream's wait is short or a setting (the canary
``test_upstream_waits_a_tenth_of_a_second_after_the_last_request`` then fails).
"""

from __future__ import annotations

from typing import Any

from buildbot.process.botmaster import BotMaster
from buildbot.util import debounce

from mends.wrapping import replace

TARGETS = ("buildbot.process.botmaster:BotMaster._flush_pending_builders",)

# Seconds from a new request until the botmaster looks for builds to start.
QUIET = 0.01


def _counting_from_the_first(upstream: Any) -> Any:
    return debounce.method(wait=QUIET, until_idle=False)(upstream.fn)


def install() -> None:
    replace(BotMaster, "_flush_pending_builders", _counting_from_the_first)
