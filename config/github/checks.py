"""GitHub check runs: one per builder on the pushed commit, in progress to done.

For a master that is a GitHub App (only Apps may write check runs). Each build's start
creates its builder's check run, ``in_progress`` (a request that waits for a worker shows
``queued`` first: :mod:`config.github.request_runs`); its end makes it ``completed``,
with GitHub's conclusion, a title that gives the counts, a Markdown summary of the
failing tests and lint findings, and annotations at their files and lines
(:mod:`config.github.check_output`), sent 50 a request. A request cancelled before it
started completes as ``cancelled``. Check runs are named as the commit statuses are
(:func:`config.github.statuses.context`), so branch protection keeps matching.

GitHub calls per build: one to create it as the build starts, one to complete it (with
the first 50 annotations), and one per further 50 annotations; one more for a request
that waited :data:`~config.github.request_runs.QUEUED_AFTER` seconds for a worker.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.process.results import FAILURE, RETRY
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.generators.build import BuildStartEndStatusGenerator
from buildbot.reporters.generators.buildrequest import BuildRequestGenerator
from twisted.internet import defer

from config.blamelist import NoBlamelist
from config.github import check_output
from config.github.api import GitHubApi
from config.github.repositories import owner_and_name
from config.github.request_runs import RequestRuns
from config.github.statuses import StatusFormatter, context, hides_failure
from config.settings import GitHub


def commit_of(build: dict[str, Any]) -> tuple[str, str] | None:
    """``(owner/name, sha)`` a build reports on: its source stamp's repository and revision
    (a forced build's: the commit it checked out)."""
    built = build.get("properties", {}).get("got_revision", (None,))[0]
    for sourcestamp in build["buildset"].get("sourcestamps") or []:
        found = owner_and_name(sourcestamp.get("repository") or "")
        revision = sourcestamp.get("revision") or (built if isinstance(built, str) else None)
        if found and revision:
            return "/".join(found), str(revision)
    return None


class CheckRunPush(NoBlamelist, ReporterBase):
    """Posts each builder's check run; see the module's docstring."""

    name = "GitHubCheckRuns"

    def checkConfig(self, api_url: str, token: Any, max_annotations: int, **kwargs: Any) -> None:
        super().checkConfig(generators=self.generators_of())

    @defer.inlineCallbacks
    def reconfigService(
        self, api_url: str, token: Any, max_annotations: int, **kwargs: Any
    ) -> Generator[Any, Any, None]:
        yield super().reconfigService(generators=self.generators_of())
        self.api = GitHubApi(self.master, api_url, token)
        self.max_annotations = max_annotations
        if not hasattr(self, "runs"):
            self.runs = RequestRuns(self.master.reactor, self._call)

    def _call(self, repository: str, body: dict[str, Any], run: int | None) -> Any:
        return self.api.check_run(repository, body, run)

    def stopService(self) -> Any:
        self.runs.stop()
        return super().stopService()

    @staticmethod
    def generators_of() -> list[Any]:
        formatter = StatusFormatter()
        return [
            BuildRequestGenerator(formatter=formatter),
            BuildStartEndStatusGenerator(start_formatter=formatter, end_formatter=formatter),
        ]

    @defer.inlineCallbacks
    def sendMessage(self, reports: list[dict[str, Any]]) -> Generator[Any, Any, None]:
        for report in reports:
            for build in report["builds"]:
                yield self.report(build, str(report["body"]))

    @defer.inlineCallbacks
    def report(self, build: dict[str, Any], description: str) -> Generator[Any, Any, None]:
        commit = commit_of(build)
        if commit is None:
            return
        repository, sha = commit
        request = int(build.get("buildrequestid") or build["buildrequest"]["buildrequestid"])
        complete = bool(build.get("complete"))
        if complete and build.get("results") == RETRY:
            return  # the request builds again: its check run goes on
        body: dict[str, Any] = {"name": context(build["builder"]["name"]), "head_sha": sha}
        if build.get("url"):
            body["details_url"] = build["url"]
        if not complete:
            started = bool(build.get("started_at"))
            body["status"] = "in_progress" if started else "queued"
            body["output"] = {"title": description, "summary": description}
            if started:
                yield self.runs.send(request, repository, [body])
            else:
                self.runs.requested(request, repository, body)
            return
        batches = yield completion(self.master, build, description, body, self.max_annotations)
        yield self.runs.send(request, repository, batches, done=True)


@defer.inlineCallbacks
def completion(
    master: Any, build: dict[str, Any], description: str, body: dict[str, Any], cap: int
) -> Generator[Any, Any, list[dict[str, Any]]]:
    """The requests that complete a build's check run (``body`` names it): the conclusion
    with the first 50 annotations, then the rest of at most ``cap``, 50 a request."""
    properties = build.get("properties", {})
    expected = hides_failure(
        build.get("results") == FAILURE, lambda name: properties.get(name, (None,))[0]
    )
    if "buildid" in build:
        findings = yield check_output.read_findings(
            master, build["buildid"], build.get("url") or ""
        )
    else:
        findings = check_output.Findings()  # cancelled before it started
    made, left_out = check_output.placed_annotations(findings, cap)
    output = {
        "title": findings.title(description),
        "summary": check_output.summary(description, build.get("url"), findings, left_out, cap),
    }
    first, *rest = check_output.batches(made)
    completed = {
        **body,
        "status": "completed",
        "conclusion": check_output.conclusion(build.get("results"), expected),
        "output": {**output, **({"annotations": first} if first else {})},
    }
    return [completed, *({"output": {**output, "annotations": batch}} for batch in rest)]


def github_checks(github: GitHub, credentials: Any) -> ReporterBase:
    """Each builder's check run on the commits it builds (a GitHub App's master)."""
    return CheckRunPush(
        api_url=github.api_url, token=credentials, max_annotations=github.max_annotations
    )
