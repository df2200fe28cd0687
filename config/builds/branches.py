"""What a branch is: the one place that tells a project's main branch, its release branches,
version tags, maintenance and merge-queue branches from the rest.

MergeForward asks it what to merge (:func:`merge_plan`), the push scheduler which pushes
build with ``changes.branches: main_and_release`` (:func:`is_main_or_release`), the
canceller which builds a newer commit may cancel (:func:`never_cancelled`), the pull
request rules what a branch's pushes built already, and the schedulers, the trigger and
the steps whether a builder's or step's ``branches`` let it run (:func:`on_branches`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from config.settings import Project

# Version tags build as releases: 1.2.3, 1.2.3rc1, 1.2.3.dev4, 1.2.3.post1 ...
VERSION_TAG = re.compile(r"^\d+(\.\d+)+((a|b|rc|\.?dev|\.?post)\d+)*$")
MAINTENANCE_PREFIX = "release-maintenance/"
"""``release-maintenance/<series>/...`` merges into ``<release_prefix><series>``."""
MERGE_QUEUE_PREFIX = "gh-readonly-queue/"
"""GitHub's merge queue pushes ``gh-readonly-queue/<base>/pr-<n>-<sha>``: merged already."""

BranchKind = Literal["main", "release", "version", "tag", "queue", "maintenance", "other"]


def kind(branch: str | None, project: Project, *, is_tag: bool = False) -> BranchKind:
    """What ``branch`` (a branch or tag name; None: the default branch) is to ``project``.

    ``main``: ``merge_into``; ``release``: a release branch; ``version``: a version tag;
    ``tag``: any other tag (``is_tag``: the push was of a tag); ``queue``: a merge-queue
    branch; ``maintenance``: a maintenance branch of a release series; ``other``: the rest.
    """
    if not branch or branch == project.merge_into:
        return "main"
    if VERSION_TAG.match(branch):
        return "version"
    if is_tag:
        return "tag"
    if branch.startswith(project.release_prefix):
        return "release"
    if branch.startswith(MERGE_QUEUE_PREFIX):
        return "queue"
    if maintained_series(branch):
        return "maintenance"
    return "other"


def maintained_series(branch: str) -> str:
    """The release series a maintenance branch belongs to, or ''."""
    if not branch.startswith(MAINTENANCE_PREFIX):
        return ""
    return branch[len(MAINTENANCE_PREFIX) :].split("/")[0]


def is_main_or_release(branch: str | None, project: Project) -> bool:
    """Whether a push of ``branch`` builds when only main and release pushes build (the
    original's answer to long queues): ``merge_into``, release branches, version tags."""
    return bool(branch) and kind(branch, project) in ("main", "release", "version")


def never_cancelled(branch: str, project: Project) -> bool:
    """Whether every commit of ``branch`` keeps its own build: the project's
    ``never_cancel`` globs (by default ``merge_into`` and the release branches), version
    tags and merge-queue branches."""
    return kind(branch, project) in ("version", "queue") or any(
        fnmatchcase(branch, pattern) for pattern in project.kept_branches
    )


@dataclass(frozen=True)
class MergePlan:
    """What MergeForward does for one branch.

    ``main``: the branch merged into; nothing is merged and the base is the previous commit.
    ``release``: a release branch or tag; nothing is merged, the base is the merge base
    with ``target``. ``queue``: a merge-queue branch, which GitHub merged already; as
    ``release``. ``merge``: ``target`` is merged in, and the base is the merge base.
    """

    kind: Literal["main", "release", "queue", "merge"]
    target: str


def merge_plan(
    branch: str | None, project: Project, *, is_tag: bool = False, base: str | None = None
) -> MergePlan:
    """The MergeForward case for a build of ``branch`` (a branch or tag name).

    ``base``, given for a pull request (its base branch) or a forced build, is what a
    merging build merges instead of ``merge_into``.
    """
    main = project.merge_into
    found = kind(branch, project, is_tag=is_tag)
    if found == "main":
        return MergePlan("main", main)
    if found in ("release", "version", "tag"):
        return MergePlan("release", main)
    if found == "queue":
        assert branch is not None
        queued_into = branch[len(MERGE_QUEUE_PREFIX) :].rpartition("/")[0]
        return MergePlan("queue", queued_into or main)
    if base:
        return MergePlan("merge", base)
    if found == "maintenance":
        assert branch is not None
        return MergePlan("merge", project.release_prefix + maintained_series(branch))
    return MergePlan("merge", main)


BRANCH_WORDS = ("main", "release", "pull_requests")
"""The words of a ``branches`` condition; any other entry is a glob of branch names."""


def on_branches(
    rules: list[str] | None,
    branch: str | None,
    project: Project,
    *,
    is_tag: bool = False,
    pull_request: bool = False,
) -> bool:
    """Whether a builder or step whose ``branches`` are ``rules`` runs for ``branch``.

    ``main``: ``merge_into``; ``release``: release branches and version tags;
    ``pull_requests``: builds of pull requests; anything else a glob of branch names.
    No rules (null): every branch.
    """
    if rules is None:
        return True
    found = kind(branch, project, is_tag=is_tag)
    for rule in rules:
        if rule == "main" and found == "main":
            return True
        if rule == "release" and found in ("release", "version"):
            return True
        if rule == "pull_requests" and pull_request:
            return True
        if rule not in BRANCH_WORDS and branch and fnmatchcase(branch, rule):
            return True
    return False


def builds_pull_requests(rules: list[str] | None) -> bool:
    """Whether ``branches`` (``rules``) let a builder build pull requests."""
    return rules is None or "pull_requests" in rules


def said(rules: list[str]) -> str:
    """A ``branches`` condition as the UI says why a step was skipped."""
    return "only on " + ", ".join(rule.replace("_", " ") for rule in rules)
