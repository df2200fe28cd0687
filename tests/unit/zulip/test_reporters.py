"""Which Zulip reporters the settings give, and the commit links of their messages."""

from __future__ import annotations

from typing import Any

import pytest
from buildbot.plugins import util

from config.zulip.errors import MasterErrors
from config.zulip.messages import commit_link
from config.zulip.reporters import ZulipStream
from tests.unit.github.test_statuses import ZULIP, made
from tests.unit.settings.test_settings import GOOD


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


def test_summaries_walk_pipelines_only_where_a_builder_triggers_another() -> None:
    def triggers(builders: list[dict[str, Any]]) -> bool:
        [project] = GOOD["projects"]
        [summaries] = made(zulip=ZULIP, projects=[{**project, "builders": builders}])
        [generator] = summaries._config_kwargs["generators"]
        return bool(generator.triggers)

    run = [{"kind": "run", "command": ["true"]}]
    assert not triggers([{"name": "tests", "steps": run}])
    assert triggers(
        [
            {"name": "tests", "steps": run, "then": ["deploy"]},
            {"name": "deploy", "steps": run, "triggered": True},
        ]
    )
