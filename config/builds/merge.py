"""MergeForward: the checked-out push turned into what should be tested, usually its merge
into master (the branch rules are :mod:`config.builds.branches`)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.process import buildstep
from buildbot.process.results import FAILURE, SUCCESS
from twisted.internet import defer

from config.builds.branches import merge_plan
from config.builds.conditions import is_tag_build
from config.builds.scripts import printed, repeated, script
from config.settings import BotIdentity, Project

MERGE_SCRIPT = script("merge_forward.sh")
MERGE_FAILURES = {
    3: "cannot fetch {target}",
    4: "no history in common with {target}",
    6: "cannot fetch {pinned} of {target}, which the triggering build merged",
}
MERGED = "merged_revision"
MERGE_TARGET = "merge_target_revision"
# The tree of no files: the lint base of a first commit, against which everything is new.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class MergeForward(buildstep.ShellMixin, buildstep.BuildStep):
    """Turns the checked-out push into what should be tested: usually its merge into master.

    Sets ``merge_base`` (and ``lint_revision``, the original's name for it: the commit
    linters diff against), ``merge_target_revision`` (the commit of the target merged)
    and, after a merge, ``merged_revision``. A build triggered by another
    (:mod:`config.builds.pipelines`) has its trigger's two: it merges that commit of the
    target, and fails unless it made the same merge commit. A merge commit is made as
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

    def __init__(self, project: Project, bot: BotIdentity, **kwargs: Any) -> None:
        self.project = project
        self.bot = bot
        kwargs = self.setupShellMixin({"logEnviron": False, **kwargs}, prohibitArgs=["command"])
        super().__init__(**kwargs)

    def __str__(self) -> str:
        """Named by its project: Buildbot names a step by its arguments in the master's
        log at every build, and the whole project (every builder's recipe) is too much."""
        return f"MergeForward(project={self.project.name!r})"

    __repr__ = __str__

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
        chosen = merge_plan(
            branch, self.project, is_tag=is_tag_build(self.build), base=self.getProperty("base")
        )
        if chosen.kind == "main":
            rc, parent = yield self._run(["git", "rev-parse", "--verify", "--quiet", "HEAD~1"])
            self._set_base(parent.strip() if rc == 0 else EMPTY_TREE)
            self.descriptionDone = f"no merge: {chosen.target} itself"
            return SUCCESS

        pinned = self.getProperty(MERGE_TARGET) or ""
        expected = self.getProperty(MERGED)
        rc, stdout = yield self._run(
            [
                "sh",
                "-s",
                chosen.kind,
                self.project.repository,
                chosen.target,
                f"Merge {chosen.target} into {branch}",
                *([pinned] if pinned else []),
            ],
            initialStdin=MERGE_SCRIPT,
            env={**(self.env or {}), **self._identity_env()},
        )
        lines = printed(stdout)
        if twice := repeated(lines, "target", "base", "merged"):
            return self._fail(f"the merge printed {', '.join(twice)} more than once")
        if rc in MERGE_FAILURES:
            return self._fail(MERGE_FAILURES[rc].format(target=chosen.target, pinned=pinned))
        if target := lines.get("target"):
            self.setProperty(MERGE_TARGET, target[0], self.name)
        if base := lines.get("base"):
            self._set_base(base[0])
        if rc != 0:
            if files := lines.get("conflict"):
                return self._fail(f"merge conflict with {chosen.target}: {', '.join(files)}")
            return self._fail(f"cannot merge {chosen.target}")
        if chosen.kind == "release":
            self.descriptionDone = f"no merge: release {branch}"
            return SUCCESS
        if chosen.kind == "queue":
            self.descriptionDone = f"no merge: merge queue into {chosen.target}"
            return SUCCESS
        merged = lines["merged"][0]
        if expected and merged != expected:
            return self._fail(f"merged {merged[:12]}, not {expected[:12]} as the trigger did")
        self.setProperty(MERGED, merged, self.name)
        self.descriptionDone = f"merged {chosen.target}"
        return SUCCESS

    def _identity_env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.bot.name,
            "GIT_AUTHOR_EMAIL": self.bot.email,
            "GIT_COMMITTER_NAME": self.bot.name,
            "GIT_COMMITTER_EMAIL": self.bot.email,
        }
