"""Branch conditions at build time: whether a step, or a triggered builder, runs for the
branch a build builds (the rules are :func:`config.builds.branches.on_branches`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config.builds.branches import on_branches, said
from config.settings import Project

PUSHED_TAG = "pushed_tag"
"""The property by which a triggered build knows it builds a tag (it has no changes)."""


def is_tag_build(build: Any) -> bool:
    """Whether a build (Buildbot's ``Build``) builds a pushed tag."""
    return bool(build.getProperty(PUSHED_TAG)) or any(
        change.category == "tag" for change in build.allChanges()
    )


def runs_here(rules: list[str] | None, project: Project, step: Any) -> bool:
    """Whether ``rules`` let a build's ``step`` (or what it triggers) run for its branch."""
    return on_branches(
        rules,
        step.getProperty("branch"),
        project,
        is_tag=is_tag_build(step.build),
        pull_request=step.getProperty("pull_request") is not None,
    )


def step_condition(rules: list[str], project: Project) -> Callable[[Any], bool]:
    """A step's ``doStepIf``: a step skipped by its ``branches`` says which they are."""

    def run_step(step: Any) -> bool:
        if runs_here(rules, project, step):
            return True
        step.descriptionDone = said(rules)
        return False

    return run_step
