"""Builders made from the project recipes in the settings.

Every build first checks out the pushed commit and runs MergeForward, so recipes test the
push merged into its base; then the recipe's steps (:mod:`config.builds.recipes`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from buildbot.locks import WorkerLock
from buildbot.plugins import util
from buildbot.process.buildstep import BuildStep

from config.builds.checkout import Checkout
from config.builds.instance import InstanceProperties
from config.builds.merge import MergeForward
from config.builds.recipes import recipe
from config.settings import Builder, Project, Settings, worker_names

CheckoutEnv = Callable[[str], Any]
"""The environment (a renderable) the checkout and merge steps of a repository fetch with."""


def factory(
    project: Project, builder: Builder, settings: Settings, checkout_env: CheckoutEnv
) -> util.BuildFactory:
    """Checkout (the pushed commit, in a tree kept between builds so a warm worker fetches
    only news), MergeForward, the recipe; first the instance's properties when the builder
    may run on EC2 workers. Only the checkout and the merge get GitHub's credentials."""
    on_ec2 = any(pool.kind == "ec2" for pool in settings.pools_of(builder))
    machine: list[BuildStep] = [InstanceProperties()] if on_ec2 else []
    fetching = checkout_env(project.repository)
    return util.BuildFactory(
        [
            *machine,
            Checkout(name="checkout", repourl=project.repository, haltOnFailure=True, env=fetching),
            MergeForward(project, settings.bot, env=fetching),
            *recipe(builder),
        ]
    )


def locks(builder: Builder) -> list[Any]:
    """A named worker lock taken exclusively: builders sharing it never share a worker."""
    if builder.lock is None:
        return []
    return [WorkerLock(builder.lock, maxCount=1).access("exclusive")]


def expected_failure(project: Project, builder: Builder) -> dict[str, Any]:
    """A builder of ``failing_builders``: tagged so the UI lists it apart, and its builds
    carry the ``expected_failure`` property the reporters read."""
    if builder.name not in project.failing_builders:
        return {}
    return {"tags": ["expected-failure"], "properties": {"expected_failure": True}}


def projects(settings: Settings) -> list[util.Project]:
    """Buildbot projects, grouping each project's builders in the UI."""
    return [util.Project(name=p.name, description=p.repository) for p in settings.projects]


def build(settings: Settings, checkout_env: CheckoutEnv) -> list[util.BuilderConfig]:
    """One BuilderConfig per recipe, on the workers of its pools; ``checkout_env`` says
    what each repository is fetched with (:func:`config.github.credentials.checkout_env`)."""
    return [
        util.BuilderConfig(
            name=builder.name,
            workernames=[
                name for pool in settings.pools_of(builder) for name in worker_names(pool)
            ],
            factory=factory(project, builder, settings, checkout_env),
            project=project.name,
            locks=locks(builder),
            **expected_failure(project, builder),
        )
        for project in settings.projects
        for builder in project.builders
    ]
