"""The Zulip reporters: buildset summaries, main-branch alerts, and the master's errors.

Everything goes through Zulip's message API (:mod:`config.zulip.session`). This replaces
Buildbot's ``ZulipStatusPush``: that one talks to Zulip's ``buildbot`` integration, posts
one message per build (two with the start) with the API key in the URL, and cannot say
"this push: these passed, that failed" in one message, which is what the team reads.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar

from buildbot.plugins import util
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.generators.build import BuildStatusGenerator
from buildbot.reporters.message import MessageFormatterFunctionRaw
from buildbot.util import service
from twisted.internet import defer

from config.blamelist import NoBlamelist
from config.settings import Project, Settings, Zulip
from config.zulip.errors import MasterErrors
from config.zulip.messages import alert_message, summary_message
from config.zulip.pipelines import PipelineSummaries
from config.zulip.session import ZulipSession


class ZulipStream(NoBlamelist, ReporterBase):
    """Posts each report to one Zulip stream: the report's subject is the message's topic."""

    secrets: ClassVar[list[str]] = ["api_key"]

    def checkConfig(
        self, site: str, bot_email: str, api_key: Any, stream: str, generators: list[Any]
    ) -> None:
        super().checkConfig(generators=generators)

    @defer.inlineCallbacks
    def reconfigService(
        self, site: str, bot_email: str, api_key: str, stream: str, generators: list[Any]
    ) -> Generator[Any, Any, None]:
        yield super().reconfigService(generators=generators)
        self.stream = stream
        self._http = ZulipSession(self.master, site, bot_email, api_key)

    @defer.inlineCallbacks
    def sendMessage(self, reports: list[dict[str, Any]]) -> Generator[Any, Any, None]:
        for report in reports:
            if report.get("body"):
                yield self._http.post(self.stream, report["subject"], report["body"])


def build(settings: Settings) -> list[service.BuildbotService]:
    """Summaries, alerts and master errors, for the streams the settings name."""
    zulip = settings.zulip
    if zulip is None:
        return []
    found: list[service.BuildbotService] = [
        _stream(zulip, zulip.stream, "zulip-summaries", [summaries(settings.projects)])
    ]
    if zulip.critical_stream is not None:
        found.append(
            _stream(zulip, zulip.critical_stream, "zulip-alerts", alerts(settings.projects))
        )
    if zulip.ops_stream is not None:
        found.append(
            MasterErrors(
                zulip.site,
                zulip.bot_email,
                api_key=_key(),
                stream=zulip.ops_stream,
                interval=zulip.ops_interval,
                name="zulip-master-errors",
            )
        )
    return found


def summaries(projects: list[Project]) -> Any:
    """One summary per push or forced build, of all the builds of its pipeline."""
    triggers = any(builder.then for project in projects for builder in project.builders)
    return PipelineSummaries(MessageFormatterFunctionRaw(summary_message), triggers)


def alerts(projects: list[Project]) -> list[Any]:
    """One generator per project: its builders' failures and errors on its main branch."""
    return [
        BuildStatusGenerator(
            mode=("failing", "exception"),
            builders=[b.name for b in project.builders],
            branches=[project.merge_into],
            message_formatter=MessageFormatterFunctionRaw(alert_message(project)),
        )
        for project in projects
    ]


def _key() -> Any:
    return util.Secret("zulip.api_key")


def _stream(zulip: Zulip, stream: str, name: str, generators: list[Any]) -> ZulipStream:
    return ZulipStream(
        zulip.site,
        zulip.bot_email,
        api_key=_key(),
        stream=stream,
        generators=generators,
        name=name,
    )
