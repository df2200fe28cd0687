"""Our own build steps: the checkout, the merge against master, and pytest with counts.

The checkout and the merge each run their git work as one shell script on the worker
(``checkout.sh``, ``merge_forward.sh``): the step's log traces each git command, and the
outcome becomes the step's summary and properties.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from buildbot.plugins import steps
from buildbot.process import buildstep, logobserver, remotecommand
from buildbot.process.results import FAILURE, SUCCESS, statusToString
from buildbot.steps.source.base import Source
from twisted.internet import defer

from config.settings import Identity, Project

HERE = Path(__file__).resolve().parent

# Version tags build as releases: 1.2.3, 1.2.3rc1, 1.2.3.dev4, 1.2.3.post1 ...
VERSION_TAG = re.compile(r"^\d+(\.\d+)+((a|b|rc|\.?dev|\.?post)\d+)*$")
MAINTENANCE_PREFIX = "release-maintenance/"
# GitHub's merge queue pushes gh-readonly-queue/<base>/pr-<n>-<sha>: already merged.
MERGE_QUEUE_PREFIX = "gh-readonly-queue/"
# The tree of no files: the lint base of a first commit, against which everything is new.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass(frozen=True)
class Plan:
    """What MergeForward does for one branch.

    ``main``: the branch merged into; nothing is merged and the base is the previous commit.
    ``release``: a release branch or tag; nothing is merged, the base is the merge base
    with ``target``. ``queue``: a merge-queue branch, which GitHub merged already; as
    ``release``. ``merge``: ``target`` is merged in, and the base is the merge base.
    """

    kind: Literal["main", "release", "queue", "merge"]
    target: str


def plan(
    branch: str | None, project: Project, *, is_tag: bool = False, base: str | None = None
) -> Plan:
    """The MergeForward case for a build of ``branch`` (a branch or tag name).

    ``base``, given when a build is forced (a pull request's base branch, say), is what a
    merging build merges instead of ``merge_into``.
    """
    main = project.merge_into
    if not branch or branch == main:
        return Plan("main", main)
    if is_tag or branch.startswith(project.release_prefix) or VERSION_TAG.match(branch):
        return Plan("release", main)
    if branch.startswith(MERGE_QUEUE_PREFIX):
        queued_into = branch[len(MERGE_QUEUE_PREFIX) :].rpartition("/")[0]
        return Plan("queue", queued_into or main)
    if base:
        return Plan("merge", base)
    if branch.startswith(MAINTENANCE_PREFIX):
        series = branch[len(MAINTENANCE_PREFIX) :].split("/")[0]
        if series:
            return Plan("merge", project.release_prefix + series)
    return Plan("merge", main)


# The plumbing steps' git work, each run as one remote command: the worker's sh reads the
# script on stdin, and the script says on stdout what it did (each file says how).
CHECKOUT_SCRIPT = (HERE / "checkout.sh").read_text()
CHECKOUT_FAILURES = {
    3: "cannot clone {repository}",
    4: "cannot fetch {branch}",
    5: "no commit {revision} on {branch}",
}
MERGE_SCRIPT = (HERE / "merge_forward.sh").read_text()
MERGE_FAILURES = {3: "cannot fetch {target}", 4: "no history in common with {target}"}


def reported(stdout: str) -> dict[str, list[str]]:
    """The ``word value`` lines a script printed, by word: ``{"base": ["abc123"]}``."""
    said: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        word, _, value = line.partition(" ")
        said.setdefault(word, []).append(value)
    return said


class Checkout(Source):
    """The pushed commit, in a tree kept between builds so a warm worker fetches only news.

    What Buildbot's Git step does with ``mode="full", method="fresh"`` (``checkout.sh``
    says what that is), in one remote command where the Git step sends up to seven: a
    directory listing, then clean, cat-file, fetch, checkout, branch and rev-parse, each a
    round trip between master and worker and log writes on the master. On a warm worker
    those were most of a build's time. Sets ``got_revision``. Patches (of try builds)
    are not applied: this master takes none.
    """

    renderables: Sequence[str] = ("repourl",)  # added to the base classes' own

    def __init__(self, repourl: str, **kwargs: Any) -> None:
        self.repourl = repourl
        super().__init__(mode="full", logEnviron=False, **kwargs)

    def computeSourceRevision(self, changes: list[Any]) -> str | None:
        """The newest change's commit, as Buildbot's Git step takes it."""
        return changes[-1].revision if changes else None

    @defer.inlineCallbacks
    def run_vc(
        self, branch: str | None, revision: str | None, patch: Any
    ) -> Generator[Any, Any, Any]:
        branch = branch or "HEAD"
        stdio = yield self.addLogForRemoteCommands("stdio")
        cmd = remotecommand.RemoteShellCommand(
            self.workdir,
            ["sh", "-s", self.repourl, branch, revision or ""],
            env=self.env,
            logEnviron=self.logEnviron,
            timeout=self.timeout,
            collectStdout=True,
            initialStdin=CHECKOUT_SCRIPT,
        )
        cmd.useLog(stdio, False)
        yield self.runCommand(cmd)
        if cmd.rc != 0:
            failure = CHECKOUT_FAILURES.get(cmd.rc, "cannot check out {branch}")
            self.descriptionDone = failure.format(
                repository=self.repourl, branch=branch, revision=revision
            )
            return FAILURE
        self.updateSourceProperty("got_revision", reported(cmd.stdout)["revision"][0])
        return SUCCESS


class MergeForward(buildstep.ShellMixin, buildstep.BuildStep):
    """Turns the checked-out push into what should be tested: usually its merge into master.

    Sets ``merge_base`` (and ``lint_revision``, the original's name for it: the commit
    linters diff against) and, after a merge, ``merged_revision``. A merge commit is made as
    the bot, dated like the pushed commit, so the same push always gives the same merge id.
    A conflict fails the build here, naming the conflicting files.

    The fetch, merge base, merge and its outcome are one remote command
    (``merge_forward.sh``): each remote command costs a round trip between master and
    worker and log writes on the master, and a warm build is mostly such costs.
    """

    name = "merge-forward"
    description = "merging"
    descriptionDone = "merge"
    haltOnFailure = True
    flunkOnFailure = True

    def __init__(self, project: Project, bot: Identity, **kwargs: Any) -> None:
        self.project = project
        self.bot = bot
        kwargs = self.setupShellMixin({"logEnviron": False, **kwargs}, prohibitArgs=["command"])
        super().__init__(**kwargs)

    def __str__(self) -> str:
        """Named by its project: Buildbot names a step by its arguments in the master's
        log at every build, and the whole project (every builder's recipe) is too much."""
        return f"MergeForward(project={self.project.name!r})"

    __repr__ = __str__

    def _is_tag(self) -> bool:
        return any(change.category == "tag" for change in self.build.allChanges())

    @defer.inlineCallbacks
    def _run(
        self, command: list[str], env: dict[str, str] | None = None, **options: Any
    ) -> Generator[Any, Any, tuple[int, str]]:
        """Run ``command`` in the build's tree; returns its exit code and output."""
        cmd = yield self.makeRemoteShellCommand(
            command=command, collectStdout=True, env=env or {}, **options
        )
        yield self.runCommand(cmd)
        return cmd.rc, cmd.stdout

    def _set_base(self, base: str) -> None:
        self.setProperty("merge_base", base, self.name)
        self.setProperty("lint_revision", base, self.name)

    def _fail(self, summary: str) -> Any:
        self.descriptionDone = summary
        return FAILURE

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, Any]:
        branch = self.getProperty("branch")
        if url := self.getProperty("pull_request_url"):
            yield self.addURL(f"pull request #{self.getProperty('pull_request')}", url)
        todo = plan(branch, self.project, is_tag=self._is_tag(), base=self.getProperty("base"))
        if todo.kind == "main":
            rc, parent = yield self._run(["git", "rev-parse", "--verify", "--quiet", "HEAD~1"])
            self._set_base(parent.strip() if rc == 0 else EMPTY_TREE)
            self.descriptionDone = f"no merge: {todo.target} itself"
            return SUCCESS

        rc, stdout = yield self._run(
            [
                "sh",
                "-s",
                todo.kind,
                self.project.repository,
                todo.target,
                f"Merge {todo.target} into {branch}",
            ],
            initialStdin=MERGE_SCRIPT,
            env={**(self.env or {}), **self._identity_env()},
        )
        said = reported(stdout)
        if rc in MERGE_FAILURES:
            return self._fail(MERGE_FAILURES[rc].format(target=todo.target))
        if base := said.get("base"):
            self._set_base(base[0])
        if rc != 0:
            if files := said.get("conflict"):
                return self._fail(f"merge conflict with {todo.target}: {', '.join(files)}")
            return self._fail(f"cannot merge {todo.target}")
        if todo.kind == "release":
            self.descriptionDone = f"no merge: release {branch}"
            return SUCCESS
        if todo.kind == "queue":
            self.descriptionDone = f"no merge: merge queue into {todo.target}"
            return SUCCESS
        self.setProperty("merged_revision", said["merged"][0], self.name)
        self.descriptionDone = f"merged {todo.target}"
        return SUCCESS

    def _identity_env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.bot.name,
            "GIT_AUTHOR_EMAIL": self.bot.email,
            "GIT_COMMITTER_NAME": self.bot.name,
            "GIT_COMMITTER_EMAIL": self.bot.email,
        }


# pytest's closing line: counts in any order, each "N word" or "N words word" ("2 subtests
# passed"), then the time: "3 passed, 1 failed, 2 skipped, 1 xfailed, 4 warnings in 0.12s",
# between '=' signs unless -q; or "no tests ran in 0.01s".
PYTEST_SUMMARY = re.compile(r"^=*\s*(\d+ [a-z]+(?: [a-z]+)*(?:, \d+ [a-z]+(?: [a-z]+)*)*) in \d")
PYTEST_COUNT = re.compile(r"(\d+) ([a-z]+(?: [a-z]+)*)")
# The kinds a summary shows, from pytest's words for them (singular and plural).
SHOWN = {"passed": "passed", "failed": "failed", "skipped": "skipped"}
SHOWN |= {"error": "errors", "errors": "errors", "xpassed": "passed", "xfailed": "skipped"}


def pytest_counts(line: str) -> dict[str, int] | None:
    """Every count of pytest's closing line, by pytest's words (``{"passed": 3, "2 subtests
    passed"...}`` as ``{"passed": 3, "subtests passed": 2}``), or None for other lines."""
    match = PYTEST_SUMMARY.match(line.strip())
    if not match:
        return None
    return {word: int(number) for number, word in PYTEST_COUNT.findall(match.group(1))}


def summary_counts(counts: dict[str, int]) -> dict[str, int]:
    """What a summary shows of pytest's counts: passed (xpassed too), failed, skipped
    (xfailed too) and errors; subtests, warnings, deselected and reruns are left out."""
    shown = dict.fromkeys(("passed", "failed", "skipped", "errors"), 0)
    for word, number in counts.items():
        if word in SHOWN:
            shown[SHOWN[word]] += number
    return shown


class Pytest(steps.Test):
    """Buildbot's Test step, taught to read pytest's closing line for the counts.

    The counts become the step's statistics and summary ("6 tests 4 passed 1 failed 1
    skipped"); errors count as failures in the statistics, and are named in the summary.
    """

    def __init__(self, **kwargs: Any) -> None:
        # pytest's own summary says how many warnings there were; counting every line
        # that mentions "warning" would mark passing runs as WARNINGS.
        super().__init__(warningPattern=None, **kwargs)
        self.addLogObserver("stdio", logobserver.LineConsumerLogObserver(self._summary))

    def _summary(self) -> Generator[None, tuple[str, str], None]:
        while True:
            _, line = yield
            counts = pytest_counts(line)
            if counts is None:
                continue
            shown = summary_counts(counts)
            for kind in ("skipped", "errors"):
                self.setStatistic(f"tests-{kind}", shown[kind])
            failed = shown["failed"] + shown["errors"]
            total = shown["passed"] + failed + shown["skipped"]
            self.setTestResults(total=total, failed=failed, passed=shown["passed"])

    def getResultSummary(self) -> dict[str, str]:
        summary: dict[str, str] = super().getResultSummary()
        if not self.hasStatistic("tests-total"):
            return summary
        total = self.getStatistic("tests-total", 0)
        parts = [f"{total} tests"] if total else []
        for kind, statistic in (
            ("passed", "tests-passed"),
            ("failed", "tests-failed"),
            ("skipped", "tests-skipped"),
            ("errors", "tests-errors"),
        ):
            number = self.getStatistic(statistic, 0)
            if kind == "failed":
                number -= self.getStatistic("tests-errors", 0)
            if number:
                parts.append(f"{number} {kind}")
        text = " ".join(parts) or "no tests ran"
        if self.results != SUCCESS:
            text += f" ({statusToString(self.results)})"
        return {**summary, "step": text}


class Lint(steps.WarningCountingShellCommand):
    """Buildbot's warning-counting step with the count in its summary ("lint 2 warnings"),
    as its Sphinx step has; the stock summary shows only the command."""

    def getResultSummary(self) -> dict[str, str]:
        plural = "" if self.warnCount == 1 else "s"
        summary = f"{self.name} {self.warnCount} warning{plural}"
        if self.results != SUCCESS:
            summary += f" ({statusToString(self.results)})"
        return {"step": summary}


INSTANCE_PROPERTIES = ("instance", "instance_type", "market", "instance_price")


class InstanceProperties(buildstep.BuildStep):
    """Names the EC2 instance a build runs on in its properties (``instance``,
    ``instance_type``, ``market``, ``instance_price``).

    Buildbot copies a worker's properties into a build when it claims the request, before
    a latent worker has started its instance; this step copies them again once the build
    runs on it. On a worker that is not an EC2 worker it sets nothing.
    """

    name = "instance"

    def run(self) -> int:
        properties = self.worker.properties if self.worker is not None else None
        found = {
            name: properties.getProperty(name)
            for name in INSTANCE_PROPERTIES
            if properties is not None and properties.getProperty(name) is not None
        }
        for name, value in found.items():
            self.setProperty(name, value, "Worker")
        if "instance" in found:
            self.descriptionDone = [
                str(found["instance"]),
                f"{found.get('market', '')} {found.get('instance_type', '')}".strip(),
            ]
        else:
            self.descriptionDone = ["not on EC2"]
        return int(SUCCESS)
