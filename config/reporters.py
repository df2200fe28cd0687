"""Where build results go: GitHub commit statuses and a Zulip stream."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from buildbot.plugins import util
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS, WARNINGS
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.generators.build import BuildStartEndStatusGenerator, BuildStatusGenerator
from buildbot.reporters.generators.buildrequest import BuildRequestGenerator
from buildbot.reporters.github import GitHubStatusPush
from buildbot.reporters.message import MessageFormatterFunction
from buildbot.reporters.zulip import ZulipStatusPush
from twisted.internet import defer
from twisted.python import log

from config.settings import GitHub, Settings, Zulip

_OUTCOMES = {
    SUCCESS: "Build succeeded.",
    WARNINGS: "Build succeeded with warnings.",
    FAILURE: "Build failed.",
    EXCEPTION: "Build errored.",
    CANCELLED: "Build cancelled.",
}


def describe(build: dict[str, Any]) -> str:
    """The short description GitHub shows next to a status."""
    if build.get("complete"):
        return _OUTCOMES.get(build.get("results"), "Build errored.")
    if build.get("started_at"):
        return "Build started."
    return "Waiting for a worker."


def _description(context: dict[str, Any]) -> str:
    return describe(context["build"])


class CommitStatusPush(GitHubStatusPush):
    """Buildbot's GitHubStatusPush, told the repository by its URL's last two parts.

    Buildbot finds ``owner/name`` only in a project named ``owner/name`` or in a URL on
    a host; our projects have plain names and a repository may be any git URL (a mirror,
    an ssh path), so the owner and name are the last two parts of the repository's path.
    """

    def _extract_github_info(self, sourcestamp: dict[str, Any]) -> tuple[str | None, str | None]:
        return repository_slug(sourcestamp.get("repository") or "")


def repository_slug(repository: str) -> tuple[str | None, str | None]:
    """``https://github.com/ClusterHQ/flocker.git`` -> ``("ClusterHQ", "flocker")``."""
    path = urlsplit(repository).path if "://" in repository else repository.split(":")[-1]
    parts = PurePosixPath(path.rstrip("/")).parts
    if len(parts) < 2 or parts[-2] == "/":
        return None, None
    name = parts[-1].removesuffix(".git")
    return (parts[-2], name) if name else (None, None)


def github_status(github: GitHub) -> ReporterBase:
    """Pending when a build is requested or starts, then success/failure/error, per builder.

    Giving generators explicitly drops Buildbot's default pending one, so it is listed
    here. When a build request is cancelled before it starts, the same generator
    reports it (state ``error``, "Build cancelled."), so no stale pending status stays
    behind. The sha is the source stamp's revision: the pushed commit, never the merge
    commit a worker makes.
    """
    formatter = MessageFormatterFunction(_description, "plain")
    return CommitStatusPush(
        token=util.Secret("github.token"),
        context=util.Interpolate("buildbot/%(prop:buildername)s"),
        baseURL=github.api_url,
        generators=[
            BuildRequestGenerator(formatter=formatter),
            BuildStartEndStatusGenerator(start_formatter=formatter, end_formatter=formatter),
        ],
    )


class ZulipResults(ZulipStatusPush):
    """Buildbot's ZulipStatusPush, posting results only and keeping its API key secret.

    Upstream takes the key as a plain string (a ``util.Secret`` fails its checkConfig),
    puts it in the request URL, and announces every build twice (started, finished).
    Here the key is a ``util.Secret`` rendered when the reporter is configured, one
    message is sent per finished build, and any error is logged with the key blanked out.
    """

    def checkConfig(self, endpoint: str, token: Any, stream: str | None = None) -> None:
        # Skip the parent's plain-string check: the key is a secret rendered later.
        ReporterBase.checkConfig(self, generators=self._generators())

    @defer.inlineCallbacks
    def reconfigService(
        self, endpoint: str, token: Any, stream: str | None = None
    ) -> Generator[Any, Any, None]:
        key = yield self.renderSecrets(token)
        yield super().reconfigService(endpoint, key, stream=stream)
        # The parent installs start-and-end reporting; results are enough for a stream.
        yield ReporterBase.reconfigService(self, generators=self._generators())

    @staticmethod
    def _generators() -> list[Any]:
        return [BuildStatusGenerator(mode="all")]

    @defer.inlineCallbacks
    def sendMessage(self, reports: list[dict[str, Any]]) -> Generator[Any, Any, None]:
        try:
            yield super().sendMessage(reports)
        except Exception as error:  # reported here, without the key
            text = str(error).replace(self.token, "<zulip.api_key>") if self.token else str(error)
            log.msg(f"Zulip: could not post a build result: {type(error).__name__}: {text}")


def zulip(settings: Zulip) -> ReporterBase:
    """Build results to the Zulip stream."""
    return ZulipResults(
        endpoint=settings.site, token=util.Secret("zulip.api_key"), stream=settings.stream
    )


def build(settings: Settings) -> list[ReporterBase]:
    """The reporters the settings ask for; none without their sections."""
    found: list[ReporterBase] = []
    if settings.github is not None and settings.github.report_status:
        found.append(github_status(settings.github))
    if settings.zulip is not None:
        found.append(zulip(settings.zulip))
    return found
