"""GitHub check runs: one per builder on the pushed commit, in progress to done.

For a master that is a GitHub App (only Apps may write check runs). Each build's start
creates its builder's check run, ``in_progress`` (a request that waits for a worker shows
``queued`` first: :mod:`config.github.request_runs`); its end makes it ``completed``,
with GitHub's conclusion, a title that gives the counts, a Markdown summary of the
failing tests and lint findings, and annotations at their files and lines
(:mod:`config.github.check_output`), sent 50 a request. A request cancelled before it
started completes as ``cancelled``. Check runs are named as the commit statuses are
(:func:`config.github.statuses.context`), so branch protection keeps matching.

A builder that runs only when triggered has its check run from the moment a build of the
builder that triggers it starts: ``queued``, "Waiting for <first>." (the generators of
:mod:`config.github.pipeline_statuses`). The triggered build takes that check run over
when it is requested; if the first build does not succeed, it completes as ``cancelled``
("Not run: <first> did not succeed."), which does not satisfy branch protection.

GitHub calls per build: one to create it as the build starts, one to complete it (with
the first 50 annotations), and one per further 50 annotations; one more for a request
that waited :data:`~config.github.request_runs.QUEUED_AFTER` seconds for a worker, and for a
triggered builder's (made while its trigger runs, then adopted by its request).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from buildbot.process.results import RETRY
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.generators.build import BuildStartEndStatusGenerator
from buildbot.reporters.generators.buildrequest import BuildRequestGenerator
from twisted.internet import defer

from config.blamelist import NoBlamelist
from config.github import check_output, pipeline_statuses
from config.github.api import GitHubApi
from config.github.pipeline_statuses import TRIGGERED, TriggeredStatus
from config.github.repositories import owner_and_name
from config.github.request_runs import RequestRuns
from config.github.statuses import StatusFormatter, built_revision, context, expected_failure
from config.settings import GitHub, Settings


def commit_of(build: dict[str, Any]) -> tuple[str, str] | None:
    """``(owner/name, sha)`` a build reports on: its source stamp's repository and revision
    (a forced build's: the commit it checked out)."""
    built = built_revision(build)
    for sourcestamp in build["buildset"].get("sourcestamps") or []:
        found = owner_and_name(sourcestamp.get("repository") or "")
        revision = sourcestamp.get("revision") or built
        if found and revision:
            return "/".join(found), str(revision)
    return None


def run_body(build: dict[str, Any], builder: str, sha: str) -> dict[str, Any]:
    """What names ``builder``'s check run on ``sha``, linked to ``build``."""
    body: dict[str, Any] = {"name": context(builder), "head_sha": sha}
    if build.get("url"):
        body["details_url"] = build["url"]
    return body


class CheckRunPush(NoBlamelist, ReporterBase):
    """Posts each builder's check run; see the module's docstring."""

    name = "GitHubCheckRuns"

    def checkConfig(
        self,
        api_url: str,
        token: Any,
        max_annotations: int,
        waiting: Sequence[TriggeredStatus] = (),
        **kwargs: Any,
    ) -> None:
        super().checkConfig(generators=self.generators_of(waiting))

    @defer.inlineCallbacks
    def reconfigService(
        self,
        api_url: str,
        token: Any,
        max_annotations: int,
        waiting: Sequence[TriggeredStatus] = (),
        **kwargs: Any,
    ) -> Generator[Any, Any, None]:
        yield super().reconfigService(generators=self.generators_of(waiting))
        self.api = GitHubApi(self.master, api_url, token)
        self.max_annotations = max_annotations
        if not hasattr(self, "runs"):
            self.runs = RequestRuns(self.master.reactor, self._call)
            self.waiting: dict[tuple[str, str, str], int] = {}
            """(repository, sha, builder) -> the check run of a triggered builder whose
            trigger runs, until its build is requested or the trigger fails."""

    def _call(self, repository: str, body: dict[str, Any], run: int | None) -> Any:
        return self.api.check_run(repository, body, run)

    def stopService(self) -> Any:
        self.runs.stop()
        return super().stopService()

    @staticmethod
    def generators_of(waiting: Sequence[TriggeredStatus]) -> list[Any]:
        formatter = StatusFormatter()
        return [
            BuildRequestGenerator(formatter=formatter),
            BuildStartEndStatusGenerator(start_formatter=formatter, end_formatter=formatter),
            *waiting,
        ]

    @defer.inlineCallbacks
    def sendMessage(self, reports: list[dict[str, Any]]) -> Generator[Any, Any, None]:
        for report in reports:
            for build in report["builds"]:
                if TRIGGERED in report:
                    yield self.report_waiting(build, report[TRIGGERED], str(report["body"]))
                else:
                    yield self.report(build, str(report["body"]))

    @defer.inlineCallbacks
    def report_waiting(
        self, build: dict[str, Any], builder: str, description: str
    ) -> Generator[Any, Any, None]:
        """The check run of ``builder`` while ``build``, its trigger, runs or after it
        failed (a trigger that succeeded requests ``builder``'s build, which reports)."""
        commit = commit_of(build)
        if commit is None or build.get("results") == RETRY:
            return
        repository, sha = commit
        key = (repository, sha, builder)
        body = run_body(build, builder, sha)
        body["output"] = {"title": description, "summary": description}
        if not build.get("complete"):
            run = yield self.api.check_run(repository, {**body, "status": "queued"})
            if run is not None:
                self.waiting[key] = run
            return
        ended = {**body, "status": "completed", "conclusion": "cancelled"}
        yield self.api.check_run(repository, ended, self.waiting.pop(key, None))

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
        name = build["builder"]["name"]
        body = run_body(build, name, sha)
        if not complete:
            started = bool(build.get("started_at"))
            body["status"] = "in_progress" if started else "queued"
            body["output"] = {"title": description, "summary": description}
            adopted = self.waiting.pop((repository, sha, name), None)
            if adopted is not None:  # a triggered builder's, made while its trigger ran
                self.runs.adopt(request, adopted)
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
    expected = expected_failure(build)
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


def github_checks(github: GitHub, credentials: Any, settings: Settings) -> ReporterBase:
    """Each builder's check run on the commits it builds (a GitHub App's master), and the
    triggered builders' from their pipeline's start."""
    return CheckRunPush(
        api_url=github.api_url,
        token=credentials,
        max_annotations=github.max_annotations,
        waiting=pipeline_statuses.generators(settings),
    )
