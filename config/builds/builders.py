"""Builders made from the project recipes in the settings.

Every build first checks out the pushed commit and runs MergeForward, so recipes test the
push merged into its base; then the recipe's steps (:mod:`config.builds.recipes`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from buildbot.plugins import util
from buildbot.process.buildstep import BuildStep

from config.builds import storage
from config.builds.checkout import Checkout
from config.builds.instance import InstanceProperties
from config.builds.isolation import BUILD_ENV, PlumbingEnv
from config.builds.leftovers import EndLeftovers
from config.builds.merge import MergeForward
from config.builds.pipelines import LockTable, lock_table, taken, trigger_steps
from config.builds.recipes import recipe
from config.builds.trust import keeps_trust
from config.settings import Builder, Project, Settings, worker_names

FetchConfig = Callable[[str], Any]
"""The git configuration (a renderable dict) the checkout and merge steps fetch a
repository with: its credentials, or nothing."""


def factory(
    project: Project,
    builder: Builder,
    settings: Settings,
    fetch_config: FetchConfig,
    locks: LockTable | None = None,
) -> util.BuildFactory:
    """Checkout (the pushed commit, in a tree kept between builds so a warm worker fetches
    only news), MergeForward, the recipe, an end to the processes it left running, and
    the trigger of the builders it runs next (:mod:`config.builds.pipelines`); first the
    instance's properties when the builder may run on EC2 workers. Only the
    checkout and the merge get GitHub's credentials (:mod:`config.builds.isolation`)."""
    pools = settings.pools_of(builder)
    machine: list[BuildStep] = [InstanceProperties()] if any(p.kind == "ec2" for p in pools) else []
    # A worker running several builds at once cannot tell whose processes are whose.
    cleanup: list[BuildStep] = [EndLeftovers()] if all(p.max_builds == 1 for p in pools) else []
    plumbing = PlumbingEnv(fetch_config(project.repository))
    table = lock_table(settings) if locks is None else locks
    return util.BuildFactory(
        [
            *machine,
            Checkout(name="checkout", repourl=project.repository, haltOnFailure=True, env=plumbing),
            MergeForward(project, settings.bot, env=plumbing),
            *recipe(project, builder, settings.limits, table, storage.s3_access(settings)),
            *cleanup,
            *trigger_steps(project, builder),
        ]
    )


def builder_locks(builder: Builder, table: LockTable) -> list[Any]:
    """The builder's ``locks`` (counted), and its ``lock``: a named worker lock taken
    exclusively, so builders sharing it never share a worker."""
    counted = taken(builder.locks, table)
    if builder.lock is None:
        return counted
    return [*counted, table[builder.lock].access("exclusive")]


def expected_failure(project: Project, builder: Builder) -> dict[str, Any]:
    """A builder of ``failing_builders``: tagged so the UI lists it apart, and its builds
    carry the ``expected_failure`` property the reporters read."""
    if builder.name not in project.failing_builders:
        return {}
    return {"tags": ["expected-failure"], "properties": {"expected_failure": True}}


def properties(project: Project, builder: Builder) -> dict[str, Any]:
    """The builder's ``properties`` (a matrix's axes among them) and what
    :func:`expected_failure` adds."""
    found = expected_failure(project, builder)
    return {**found, "properties": {**builder.properties, **found.get("properties", {})}}


def projects(settings: Settings) -> list[util.Project]:
    """Buildbot projects, grouping each project's builders in the UI."""
    return [util.Project(name=p.name, description=p.repository) for p in settings.projects]


def build(settings: Settings, fetch_config: FetchConfig) -> list[util.BuilderConfig]:
    """One BuilderConfig per recipe, on the workers of its pools; ``fetch_config`` says
    what each repository is fetched with (:func:`config.github.credentials.fetch_config`)."""
    table = lock_table(settings)
    return [
        util.BuilderConfig(
            name=builder.name,
            workernames=[
                name for pool in settings.pools_of(builder) for name in worker_names(pool)
            ],
            factory=factory(project, builder, settings, fetch_config, table),
            env=BUILD_ENV,
            project=project.name,
            locks=builder_locks(builder, table),
            canStartBuild=keeps_trust(untrusted_workers(settings, builder)),
            **properties(project, builder),
        )
        for project in settings.projects
        for builder in project.builders
    ]


def untrusted_workers(settings: Settings, builder: Builder) -> list[str]:
    """The workers of ``builder``'s pools that take untrusted builds (and only those)."""
    return [
        name for pool in settings.pools_of(builder) if pool.untrusted for name in worker_names(pool)
    ]
