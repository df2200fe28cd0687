"""Which Zulip reporters the settings give, and the commit links of their messages."""

from __future__ import annotations

import pytest
from buildbot.plugins import util

from config.zulip.errors import MasterErrors
from config.zulip.messages import commit_link
from config.zulip.reporters import ZulipStream
from tests.unit.github.test_statuses import ZULIP, made


def test_zulip_section_gives_buildset_summaries_only() -> None:
    [summaries] = made(zulip=ZULIP)

    assert isinstance(summaries, ZulipStream)
    assert summaries._config_kwargs["stream"] == "buildbot"
    keys = [g.wanted_event_keys for g in summaries._config_kwargs["generators"]]
    assert keys == [[("buildsets", None, "complete")]]
    assert repr(summaries._config_kwargs["api_key"]) == repr(util.Secret("zulip.api_key"))


def test_zulip_alert_and_ops_streams_when_named() -> None:
    found = made(zulip={**ZULIP, "critical_stream": "alerts", "ops_stream": "ops"})

    assert [s.name for s in found] == ["zulip-summaries", "zulip-alerts", "zulip-master-errors"]
    assert isinstance(found[2], MasterErrors)
    [alerts] = found[1]._config_kwargs["generators"]
    assert alerts.branches == ["master"]
    assert found[2]._config_kwargs["stream"] == "ops"


@pytest.mark.parametrize(
    ("repository", "text"),
    [
        (
            "https://github.com/ClusterHQ/flocker.git",
            "[0123456789ab](https://github.com/ClusterHQ/flocker/commit/0123456789abcdef)",
        ),
        ("/srv/git/flocker.git", "`0123456789ab`"),
    ],
)
def test_commit_link(repository: str, text: str) -> None:
    assert commit_link(repository, "0123456789abcdef") == text
