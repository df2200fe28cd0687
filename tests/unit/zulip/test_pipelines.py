"""A pipeline's summary is sent by exactly one of its buildsets' completions, whatever
their order and however late each completion is looked at."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from config.zulip.pipelines import completed_last


def buildsets(done: dict[int, int]) -> list[dict[str, Any]]:
    """Buildsets 1-3; ``done``: the completed ones and their ``complete_at``."""
    return [
        {"bsid": bsid, "complete": bsid in done, "complete_at": done.get(bsid)}
        for bsid in (1, 2, 3)
    ]


def test_no_summary_while_a_buildset_runs() -> None:
    assert completed_last(buildsets({1: 10, 3: 11})) is None


@pytest.mark.parametrize("order", list(itertools.permutations((1, 2, 3))))
@pytest.mark.parametrize("same_second", [False, True])
def test_exactly_one_completion_sends_the_summary(
    order: tuple[int, ...], same_second: bool
) -> None:
    times = {bsid: 10 if same_second else 10 + i for i, bsid in enumerate(order)}
    senders = set()
    for i, bsid in enumerate(order):
        # Its handler looks at the pipeline after its own completion, maybe after later ones.
        for seen in range(i, len(order)):
            state = buildsets({b: times[b] for b in order[: seen + 1]})
            if completed_last(state) == bsid:
                senders.add(bsid)
    assert len(senders) == 1
