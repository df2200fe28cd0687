"""Pull requests: which of GitHub's ``pull_request`` deliveries build, and as what.

The rules, which README's "Pull requests" section tells users:

- A pull request from a branch of the base repository is built as that branch: its
  pushes build it (GitHub sends a push and a ``synchronize`` for each; the push builds),
  merged into the pull request's base, with the pull request's properties. Opening it,
  or changing its base, builds it once more only when its base is not what the branch's
  pushes merged into already, or when no build of its head exists (the master never saw
  the push: the hook was added later, or the push was not delivered). One commit, one
  build per builder: no two builds post to one status context.
- A pull request from a fork is built as ``refs/pull/<n>/head``, fetched from the base
  repository, merged into its base.
- A pull request from a fork is untrusted code: it builds on the untrusted pools only
  (:mod:`config.builds.trust`), and not at all where there are none.
- A fork's pull request, or one whose author's association is not trusted, waits for an
  admin's approval of its head commit (the web UI's "Approve" form, or the approve label
  added on GitHub); a new push to it waits again. Meanwhile each builder's status context
  says so.
- ``closed`` cancels the pull request's waiting and running builds.

What the master remembers about open pull requests (which branch belongs to which pull
request, which pull requests wait) is kept in its database (:mod:`config.github.records`),
so a restarted master and every master of a cluster know it.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from buildbot.data import resultspec
from buildbot.www.hooks.github import DEFAULT_SKIPS_PATTERN
from twisted.internet import defer
from twisted.python import log

from config.builds.branches import merge_plan
from config.builds.changes import PULL_REQUEST
from config.builds.trust import UNTRUSTED
from config.github.api import GitHubApi
from config.github.history import built
from config.github.records import PullRequestRecords, records
from config.github.repositories import repository_key
from config.github.statuses import context
from config.settings import Project, PullRequests

# Actions that build; ``edited`` builds only when the base branch changed.
BUILDING = ("opened", "reopened", "synchronize", "ready_for_review", "edited")
# The skip markers ([skip ci], [ci skip]) Buildbot's handle_push honours for pushes.
SKIPS = [re.compile(pattern) for pattern in DEFAULT_SKIPS_PATTERN]
APPROVAL_PENDING = "Waiting for an admin's approval to build."


@dataclass(frozen=True)
class PullRequest:
    """The parts of a ``pull_request`` delivery that decide and describe its build."""

    number: int
    title: str
    url: str
    head_sha: str
    head_ref: str
    base_ref: str
    draft: bool
    association: str
    author: str
    # The base repository's ``owner/name`` and web address; whether the head is in it.
    repository: str
    repository_url: str
    same_repository: bool

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PullRequest:
        try:
            pr = payload["pull_request"]
            head_repo = pr["head"].get("repo") or {}  # null when the fork is gone
            base = payload["repository"]["full_name"]
            return cls(
                number=int(pr["number"]),
                title=str(pr["title"]),
                url=str(pr["html_url"]),
                head_sha=str(pr["head"]["sha"]),
                head_ref=str(pr["head"]["ref"]),
                base_ref=str(pr["base"]["ref"]),
                draft=bool(pr.get("draft")),
                association=str(pr.get("author_association") or "NONE"),
                author=str(pr["user"]["login"]),
                repository=repository_key(base),
                repository_url=str(payload["repository"]["html_url"]),
                same_repository=repository_key(str(head_repo.get("full_name", "")))
                == repository_key(base),
            )
        except (KeyError, TypeError, AttributeError, ValueError):
            raise ValueError("Pull request payload is incomplete") from None

    @property
    def branch(self) -> str:
        """The branch its builds build: its own branch, or GitHub's ref in the base repository."""
        return self.head_ref if self.same_repository else f"refs/pull/{self.number}/head"

    def properties(self) -> dict[str, Any]:
        """The build properties naming it; ``base`` is what MergeForward merges into."""
        return {
            "base": self.base_ref,
            "pull_request": self.number,
            "pull_request_head": self.head_sha,
            "pull_request_base": self.base_ref,
            "pull_request_url": self.url,
            "pull_request_title": self.title,
        }

    def change(self, project: str) -> dict[str, Any]:
        """The change its build comes from, as the change hook submits changes."""
        return {
            "revision": self.head_sha,
            "branch": self.branch,
            "repository": self.repository_url,
            "project": project,
            "category": PULL_REQUEST,
            "revlink": self.url,
            "author": self.author,
            "comments": f"Pull request #{self.number}: {self.title}",
            "files": [],
            "properties": {
                **self.properties(),
                "event": "pull_request",
                UNTRUSTED: not self.same_repository,
            },
        }


def needs_approval(pr: PullRequest, rules: PullRequests) -> bool:
    """Whether its code may build only once an admin has approved this head commit."""
    if pr.same_repository:
        return False  # its branch's pushes, by people who may push, build it anyway
    return rules.forks_need_approval or pr.association not in rules.trusted


@defer.inlineCallbacks
def cancel_builds(master: Any, project: str, branch: str, reason: str) -> Generator[Any, Any, int]:
    """Cancels the waiting and running builds of one branch of a project; returns how many."""
    waiting = yield master.data.get(
        ("buildrequests",), filters=[resultspec.Filter("complete", "eq", [False])]
    )
    cancelled = 0
    for request in waiting:
        buildset = yield master.data.get(("buildsets", request["buildsetid"]))
        if any(
            ss["project"] == project and ss["branch"] == branch for ss in buildset["sourcestamps"]
        ):
            master.data.control(
                "cancel", {"reason": reason}, ("buildrequests", str(request["buildrequestid"]))
            )
            cancelled += 1
    return cancelled


class PullRequestEvents:
    """Decides what each ``pull_request`` delivery builds; see the module's docstring."""

    def __init__(
        self,
        master: Any,
        projects: dict[str, Project],
        rules: PullRequests,
        api: GitHubApi,
        forks: dict[str, list[str]],
    ) -> None:
        self.master = master
        self.projects = projects
        self.rules = rules
        self.api = api
        self.forks = forks
        """Per project, the builders that build pull requests from forks (none: forks do
        not build)."""

    @property
    def records(self) -> PullRequestRecords:
        return records(self.master)

    @defer.inlineCallbacks
    def handle(
        self, payload: dict[str, Any]
    ) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        """The changes to submit, and a line saying what was done, for the answer."""
        pr = PullRequest.from_payload(payload)
        action = str(payload.get("action", ""))
        project = self.projects.get(pr.repository)
        if project is None:
            return [], f"no project builds {pr.repository}"
        if action == "closed":
            note = yield self.closed(project, pr)
            return [], note
        if action == "labeled":
            labeled: tuple[list[dict[str, Any]], str] = yield self.labeled(project, pr, payload)
            return labeled
        if action not in BUILDING or (
            action == "edited" and "base" not in payload.get("changes", {})
        ):
            return [], f"pull request #{pr.number} {action}: nothing to build"
        if not self.rules.build:
            return [], "pull requests build only by their pushes (github.pull_requests.build)"
        found: tuple[list[dict[str, Any]], str] = yield self.updated(project, pr, action)
        return found

    @defer.inlineCallbacks
    def updated(
        self, project: Project, pr: PullRequest, action: str
    ) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        if pr.same_repository:
            name = PullRequestRecords.branch(project.name, pr.head_ref)
            before = yield self.records.get(name)
            yield self.records.put(name, {**pr.properties(), "draft": pr.draft})
            if action == "synchronize":
                return [], f"pull request #{pr.number} is built by the push to {pr.head_ref}"
            if self.built_by_pushes(project, pr, action, (before or {}).get("base")) and (
                yield built(self.master, project.name, pr.head_ref, pr.head_sha)
            ):
                return [], f"pull request #{pr.number}: its pushes built it already"
        if not pr.same_repository and not self.forks.get(project.name):
            return [], (
                f"pull request #{pr.number} is from a fork: forks do not build here "
                "(no pool is marked untrusted, or github.pull_requests.forks is false)"
            )
        if pr.draft and not self.rules.drafts:
            return [], f"pull request #{pr.number} is a draft: it builds once ready for review"
        message = yield self.api.commit_message(pr.repository, pr.head_sha)
        if any(skip.search(message) for skip in SKIPS):
            return [], f"pull request #{pr.number}: its head commit asks to skip CI"
        change = pr.change(project.name)
        if needs_approval(pr, self.rules):
            yield self.records.wait(project.name, pr.number, change)
            contexts = [context(name) for name in self.forks[project.name]]
            yield self.api.pending(
                pr.repository, pr.head_sha, contexts, APPROVAL_PENDING, pr.number
            )
            return [], (
                f"pull request #{pr.number} waits for an admin's approval of {pr.head_sha[:12]}"
            )
        return [change], f"pull request #{pr.number} {action}: building {pr.head_sha[:12]}"

    def built_by_pushes(
        self, project: Project, pr: PullRequest, action: str, pushed_base: str | None
    ) -> bool:
        """Whether a same-repository pull request's head was built as it would build now:
        while a draft (if drafts build), or merged into its base. ``pushed_base`` is the
        base its branch's pushes merged into (None: the branch's own target)."""
        if action == "ready_for_review":
            return self.rules.drafts
        pushed = merge_plan(pr.head_ref, project, base=pushed_base)
        return pushed == merge_plan(pr.head_ref, project, base=pr.base_ref)

    @defer.inlineCallbacks
    def labeled(
        self, project: Project, pr: PullRequest, payload: dict[str, Any]
    ) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        """The approve label, added by someone GitHub lets label, approves the head commit."""
        label = (payload.get("label") or {}).get("name")
        if label is None or label != self.rules.approve_label:
            return [], f"pull request #{pr.number} labeled: nothing to build"
        # The head the labeler saw, and only that: a push after it waits again.
        approver = str((payload.get("sender") or {}).get("login", "?"))
        found: tuple[list[dict[str, Any]], str] = yield self.approve(
            project, pr.number, pr.head_sha, approver, "label"
        )
        return found

    @defer.inlineCallbacks
    def approve(
        self, project: Project, number: int, head_sha: str, approver: str, how: str
    ) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        """The change of a waiting pull request whose head ``head_sha`` ``approver``
        approved (by ``how``), to build; nothing when another commit waits."""
        change = yield self.records.release(project.name, number, head_sha)
        if change is None:
            return [], f"pull request #{number}: {head_sha[:12]} does not wait for approval"
        approved(change, approver)
        log.msg(f"{approver} approved pull request #{number} at {head_sha} by {how}")
        return [change], f"pull request #{number} approved by {how}: building {head_sha[:12]}"

    @defer.inlineCallbacks
    def closed(self, project: Project, pr: PullRequest) -> Generator[Any, Any, str]:
        yield self.records.forget(project.name, pr.number)
        if pr.same_repository:
            yield self.records.put(PullRequestRecords.branch(project.name, pr.head_ref), None)
        count = yield cancel_builds(
            self.master, project.name, pr.branch, f"pull request #{pr.number} was closed"
        )
        return f"pull request #{pr.number} closed: {count} build requests cancelled"

    @defer.inlineCallbacks
    def push_properties(
        self, project: str, branch: str
    ) -> Generator[Any, Any, dict[str, Any] | None]:
        """For a pushed branch: its open pull request's properties, {} for none, None when
        the pull request is a draft that does not build."""
        record: dict[str, Any] | None = yield self.records.get(
            PullRequestRecords.branch(project, branch)
        )
        if not record:
            return {}
        draft = record.pop("draft", False)
        if draft and not self.rules.drafts:
            return None
        return record


def approved(change: dict[str, Any], approver: str) -> None:
    """Mark an approved change: who approved which commit, in its build's properties."""
    change["properties"]["approved_by"] = approver
    change["properties"]["approved_revision"] = change["revision"]
