"""The ``zulip`` section: where build summaries, alerts and master errors go."""

from __future__ import annotations

from pydantic import SecretStr

from config.settings.values import Seconds, Section, Text


class Zulip(Section):
    site: Text
    bot_email: Text
    api_key: SecretStr
    stream: Text = "buildbot"
    # Alerts when a main branch fails, and the master's own errors; null: not sent.
    critical_stream: Text | None = None
    ops_stream: Text | None = None
    # At most one message of master errors per this many seconds.
    ops_interval: Seconds = 300.0
