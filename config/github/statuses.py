"""GitHub commit statuses: one context per builder on the pushed commit, pending to done."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from buildbot.plugins import util
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS, WARNINGS
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.generators.build import BuildStartEndStatusGenerator
from buildbot.reporters.generators.buildrequest import BuildRequestGenerator
from buildbot.reporters.github import GitHubStatusPush
from buildbot.reporters.message import MessageFormatterFunction
from twisted.internet import defer

from config.blamelist import NoBlamelist
from config.builds.superseded import superseding
from config.github.repositories import owner_and_name
from config.settings import GitHub

_OUTCOMES = {
    SUCCESS: "Build succeeded.",
    WARNINGS: "Build succeeded with warnings.",
    FAILURE: "Build failed.",
    EXCEPTION: "Build errored.",
    CANCELLED: "Build cancelled.",
}


def context(builder: str) -> str:
    """A builder's status context, and its check run's name: branch protection names it."""
    return f"buildbot/{builder}"


def hides_failure(failed: bool, prop: Callable[[str], Any]) -> bool:
    """A failure of a ``failing_builders`` builder, not forced to report failures."""
    return failed and bool(prop("expected_failure")) and not prop("report-expected-failures")


def build_property(build: dict[str, Any], name: str) -> Any:
    """A property of a build as the data API gives it (``{name: (value, source)}``)."""
    return build.get("properties", {}).get(name, (None,))[0]


def expected_failure(build: dict[str, Any]) -> bool:
    """:func:`hides_failure` for a build as the data API gives it."""
    return hides_failure(build.get("results") == FAILURE, lambda name: build_property(build, name))


def built_revision(build: dict[str, Any]) -> str | None:
    """The commit a build checked out (a forced build names no revision of its own)."""
    built = build_property(build, "got_revision")
    return built if isinstance(built, str) else None


def describe(build: dict[str, Any], superseded_by: str | None = None) -> str:
    """The short description GitHub shows next to a status."""
    if build.get("complete") and build.get("results") == CANCELLED and superseded_by:
        return f"Superseded by {superseded_by[:12]}."
    if build.get("complete"):
        if expected_failure(build):
            return "Expected failure: build failed (listed in failing_builders)."
        return _OUTCOMES.get(build.get("results"), "Build errored.")
    if build.get("started_at"):
        return "Build started."
    return "Waiting for a worker."


class StatusFormatter(MessageFormatterFunction):
    """The status description (:func:`describe`); a cancelled build's names the commit
    that superseded it, found in the database (:func:`config.builds.superseded.superseding`)."""

    def __init__(self) -> None:
        super().__init__(self._body, "plain")

    @staticmethod
    def _body(context: dict[str, Any]) -> str:
        return describe(context["build"], context.get("superseded_by"))

    @defer.inlineCallbacks
    def buildAdditionalContext(
        self, master: Any, context: dict[str, Any]
    ) -> Generator[Any, Any, None]:
        build = context["build"]
        if build.get("complete") and build.get("results") == CANCELLED:
            for sourcestamp in build["buildset"].get("sourcestamps") or []:
                newer = yield superseding(master, build, sourcestamp)
                if newer:
                    context["superseded_by"] = newer


class CommitStatusPush(NoBlamelist, GitHubStatusPush):
    """Buildbot's GitHubStatusPush, told the repository by its URL's last two parts.

    Buildbot finds ``owner/name`` only in a project named ``owner/name`` or in a URL on
    a host; our projects have plain names and a repository may be any git URL (a mirror,
    an ssh path), so the owner and name are the last two parts of the repository's path.
    """

    def _extract_github_info(self, sourcestamp: dict[str, Any]) -> tuple[str | None, str | None]:
        return owner_and_name(sourcestamp.get("repository") or "") or (None, None)

    def sendMessage(self, reports: list[dict[str, Any]]) -> Any:
        """A forced build names no revision: its status goes to the commit it checked out."""
        build = reports[0]["builds"][0]
        built = built_revision(build)
        for sourcestamp in build["buildset"].get("sourcestamps") or []:
            if not sourcestamp.get("revision") and built:
                sourcestamp["revision"] = built
        return super().sendMessage(reports)

    def createStatus(self, *args: Any, **kwargs: Any) -> Any:
        """An expected failure is a success with a note, so it does not block merging.

        A build superseded by a newer build of its own commit (a pull request opened for
        a pushed branch) posts nothing: the newer build owns the status context now.
        """
        if kwargs["description"] == describe(
            {"complete": True, "results": CANCELLED}, kwargs["sha"]
        ):
            return None
        if hides_failure(kwargs["state"] == "failure", kwargs["props"].getProperty):
            kwargs["state"] = "success"
        return super().createStatus(*args, **kwargs)


def github_status(github: GitHub, credentials: Any) -> ReporterBase:
    """Pending when a build is requested or starts, then success/failure/error, per builder.

    Giving generators explicitly drops Buildbot's default pending one, so it is listed
    here. When a build request is cancelled before it starts, the same generator
    reports it (state ``error``, "Build cancelled."), so no stale pending status stays
    behind. The sha is the source stamp's revision: the pushed commit, never the merge
    commit a worker makes.
    """
    formatter = StatusFormatter()
    return CommitStatusPush(
        token=credentials,
        context=util.Interpolate(context("%(prop:buildername)s")),
        baseURL=github.api_url,
        generators=[
            BuildRequestGenerator(formatter=formatter),
            BuildStartEndStatusGenerator(start_formatter=formatter, end_formatter=formatter),
        ],
    )
