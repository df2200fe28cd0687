"""Zulip, as the original team used it: buildset summaries, main-branch alerts, master errors.

Everything goes through Zulip's message API (``POST /api/v1/messages``, HTTP basic auth
with the bot's email and API key) on Buildbot's shared HTTP client service. This replaces
Buildbot's ``ZulipStatusPush``: that one talks to Zulip's ``buildbot`` integration, posts
one message per build (two with the start) with the API key in the URL, and cannot say
"this push: these passed, that failed" in one message, which is what the team reads.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Generator
from typing import Any, ClassVar, cast

from buildbot.plugins import util
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
)
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.generators.build import BuildStatusGenerator
from buildbot.reporters.generators.buildset import BuildSetCombinedStatusGenerator
from buildbot.reporters.message import MessageFormatterFunctionRaw
from buildbot.util import httpclientservice, service
from twisted.internet import defer
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python import log

from config.settings import Project, Settings, Zulip

# Results that count as passed: listed together on the summary's first line.
PASSED = (SUCCESS, WARNINGS, SKIPPED)
EMOJI = {
    SUCCESS: ":white_check_mark:",
    WARNINGS: ":white_check_mark:",
    SKIPPED: ":white_check_mark:",
    FAILURE: ":x:",
    EXCEPTION: ":heavy_exclamation_mark:",
    CANCELLED: ":interrobang:",
    RETRY: ":repeat:",
}
EXPECTED_FAILURE = "expected_failure"


def _prop(build: dict[str, Any], name: str) -> Any:
    return build.get("properties", {}).get(name, (None,))[0]


def is_expected_failure(build: dict[str, Any]) -> bool:
    """A non-passing build of a builder listed in its project's ``failing_builders``."""
    return bool(_prop(build, EXPECTED_FAILURE)) and build["results"] not in PASSED


def commit_link(repository: str | None, revision: str | None) -> str:
    """The commit as a Markdown link where the repository is on the web, else as code."""
    if not revision:
        return "(no revision)"
    if repository and repository.startswith(("https://", "http://")):
        base = repository.rstrip("/").removesuffix(".git")
        return f"[{revision[:12]}]({base}/commit/{revision})"
    return f"`{revision[:12]}`"


def _emoji(build: dict[str, Any]) -> str:
    return EMOJI.get(build["results"], EMOJI[EXCEPTION])


def _link(build: dict[str, Any]) -> str:
    return f"[{build['builder']['name']}]({build['url']})"


def pull_request(builds: list[dict[str, Any]]) -> int | None:
    """The number of the pull request the builds build, if they build one."""
    return next((_prop(b, "pull_request") for b in builds if _prop(b, "pull_request")), None)


def summary(builds: list[dict[str, Any]], sourcestamp: dict[str, Any]) -> str:
    """The message for a finished buildset (the builds of one push or forced build)."""
    revision = sourcestamp.get("revision") or next(
        (_prop(b, "got_revision") for b in builds if _prop(b, "got_revision")), None
    )
    lines = ["**Build Complete**"]
    number = pull_request(builds)
    if number is not None:
        title, url = _prop(builds[0], "pull_request_title"), _prop(builds[0], "pull_request_url")
        lines.append(f"Pull request [#{number} {title}]({url})")
    lines.append(
        f"Branch `{sourcestamp.get('branch')}` at "
        f"{commit_link(sourcestamp.get('repository'), revision)}"
    )
    ordered = sorted(builds, key=lambda b: (b["builder"]["name"], b["number"]))
    passed = [b for b in ordered if b["results"] in PASSED]
    expected = [b for b in ordered if is_expected_failure(b)]
    if passed:
        lines.append(f"{EMOJI[SUCCESS]} " + ", ".join(_link(b) for b in passed))
    for build in ordered:
        if build["results"] not in PASSED and build not in expected:
            lines.append(f"{_emoji(build)} {_link(build)}")
    if expected:
        failed = ", ".join(f"{_emoji(b)} {_link(b)}" for b in expected)
        lines.append(f"Expected failures: {failed}")
    return "\n".join(lines)


def _summary_message(master: Any, context: dict[str, Any]) -> dict[str, Any]:
    sourcestamp = (context["buildset"]["sourcestamps"] or [{}])[0]
    if not sourcestamp.get("project"):  # the nightly janitor, no project's build
        return {"subject": "", "body": ""}
    return {
        "subject": topic(context["builds"], sourcestamp),
        "body": summary(context["builds"], sourcestamp),
    }


def topic(builds: list[dict[str, Any]], sourcestamp: dict[str, Any]) -> str:
    """``<project> : <branch>``, or ``<project> : PR #<n>`` for a pull request's builds."""
    number = pull_request(builds)
    where = f"PR #{number}" if number is not None else sourcestamp.get("branch")
    return f"{sourcestamp.get('project')} : {where}"


def alert(build: dict[str, Any], sourcestamp: dict[str, Any]) -> str:
    """The message for a failed or errored build of a main branch."""
    verb = "failed" if build["results"] == FAILURE else "errored"
    revision = sourcestamp.get("revision") or _prop(build, "got_revision")
    return (
        f"{_emoji(build)} [{build['builder']['name']} "
        f"#{build['number']}]({build['url']}) {verb} on `{sourcestamp.get('branch')}` at "
        f"{commit_link(sourcestamp.get('repository'), revision)}"
    )


def _alert_message(project: Project) -> Callable[[Any, dict[str, Any]], dict[str, Any] | None]:
    def message(master: Any, context: dict[str, Any]) -> dict[str, Any]:
        build = context["build"]
        sourcestamp = context["buildset"]["sourcestamps"][0]
        return {
            "subject": f"{project.name} {project.merge_into} is failing",
            # An expected failure is no news: an empty body is not sent.
            "body": "" if is_expected_failure(build) else alert(build, sourcestamp),
        }

    return message


class ZulipStream(ReporterBase):
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


class ZulipSession:
    """Zulip's message API on the master's HTTP client service; failures are logged only."""

    def __init__(self, master: Any, site: str, bot_email: str, api_key: str) -> None:
        self._http = httpclientservice.HTTPSession(
            master.httpservice, site.rstrip("/"), auth=(bot_email, api_key)
        )

    @defer.inlineCallbacks
    def post(self, stream: str, topic: str, content: str) -> Generator[Any, Any, None]:
        form = {"type": "stream", "to": stream, "topic": topic, "content": content}
        try:
            response = yield self._http.post("/api/v1/messages", data=form)
        except Exception as error:  # the key is in a header, never in this text
            log.msg(f"Zulip: could not post to {stream}: {type(error).__name__}: {error}")
            return
        if response.code != 200:
            answer = yield response.content()
            log.msg(f"Zulip: {stream} answered {response.code}: {answer[:200]!r}")


class MasterErrors(service.BuildbotService):
    """Sends errors the master logs (unhandled exceptions, failed reports) to a stream.

    A Twisted log observer collects them; at most one message leaves every ``interval``
    seconds, holding the newest ``keep`` errors and how many were left out, so a storm of
    errors (or a Zulip that is down) costs one post per interval, never a flood.
    """

    secrets: ClassVar[list[str]] = ["api_key"]

    @defer.inlineCallbacks
    def reconfigService(
        self,
        site: str,
        bot_email: str,
        api_key: str,
        stream: str,
        interval: float = 60.0,
        keep: int = 10,
    ) -> Generator[Any, Any, None]:
        yield super().reconfigService()
        self.stream = stream
        self.interval = interval
        self.errors: collections.deque[str] = collections.deque(maxlen=keep)
        self.dropped = 0
        self._http = ZulipSession(self.master, site, bot_email, api_key)
        self._flush: Any = None
        # Added once: the publisher ignores the same observer added again at a reconfig.
        globalLogPublisher.addObserver(cast(ILogObserver, self.record))

    def stopService(self) -> Any:
        globalLogPublisher.removeObserver(cast(ILogObserver, self.record))
        if self._flush is not None and self._flush.active():
            self._flush.cancel()
        return super().stopService()

    def record(self, event: LogEvent) -> None:
        if not (event.get("isError") or "log_failure" in event):
            return
        text = formatEvent(event) or ""
        failure = event.get("log_failure")
        if failure is not None:
            text += "\n" + failure.getTraceback()[-1500:]
        if len(self.errors) == self.errors.maxlen:
            self.dropped += 1
        self.errors.append(text.strip())
        if self._flush is None or not self._flush.active():
            self._flush = self.master.reactor.callLater(self.interval, self.send)

    def send(self) -> defer.Deferred[None]:
        errors, dropped = list(self.errors), self.dropped
        self.errors.clear()
        self.dropped = 0
        more = f"\n\n({dropped} more left out)" if dropped else ""
        body = "\n".join(f"```\n{text}\n```" for text in errors) + more
        title = self.master.config.title
        return self._http.post(self.stream, f"{title} master errors", body)


def build(settings: Settings) -> list[service.BuildbotService]:
    """Summaries, alerts and master errors, for the streams the settings name."""
    zulip = settings.zulip
    if zulip is None:
        return []
    found: list[service.BuildbotService] = [
        _stream(zulip, zulip.stream, "zulip-summaries", [summaries()])
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


def summaries() -> Any:
    return BuildSetCombinedStatusGenerator(
        message_formatter=MessageFormatterFunctionRaw(_summary_message)
    )


def alerts(projects: list[Project]) -> list[Any]:
    """One generator per project: its builders' failures and errors on its main branch."""
    return [
        BuildStatusGenerator(
            mode=("failing", "exception"),
            builders=[b.name for b in project.builders],
            branches=[project.merge_into],
            message_formatter=MessageFormatterFunctionRaw(_alert_message(project)),
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
