"""The whole settings document: its sections, and the rules that span them."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from config.settings.auth import Auth
from config.settings.buildmaster import Buildmaster
from config.settings.builds import BotIdentity, Changes, Limits, Results
from config.settings.deploy import Deploy
from config.settings.github import GitHub
from config.settings.matrices import check_matrix_pools
from config.settings.pipelines import CountedLock, check_locks
from config.settings.recipes import Builder, Project
from config.settings.repositories import repository_key
from config.settings.storage import S3
from config.settings.values import Name, Seconds, Section, require_unique, show
from config.settings.workers import AnyPool, Aws, Pools, worker_names
from config.settings.zulip import Zulip

HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")
"""A DNS name or IPv4 address: what the HTTPS proxy's configuration takes as written."""

# Where a master behind the HTTPS proxy may listen: only the proxy on the same host reaches it.
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class Settings(Section):
    buildmaster: Buildmaster = Field(default_factory=Buildmaster)
    # No default: only the user can say who may log in.
    auth: Auth
    # No default: local workers (the default kind) need a password only the user can give.
    workers: Pools
    changes: Changes = Field(default_factory=Changes)
    bot: BotIdentity = Field(default_factory=BotIdentity)
    github: GitHub | None = None
    zulip: Zulip | None = None
    aws: Aws | None = None
    # How the master reaches S3 for upload and publish steps (config/settings/storage.py).
    s3: S3 | None = None
    deploy: Deploy = Field(default_factory=Deploy)
    tree_stable_timer: Seconds = 5.0
    results: Results = Field(default_factory=Results)
    limits: Limits = Field(default_factory=Limits)
    # Counted locks that builders and steps take by name (``locks`` of either).
    locks: dict[Name, CountedLock] = Field(default_factory=dict)
    projects: Annotated[list[Project], Field(min_length=1)]

    @model_validator(mode="after")
    def _webhook_needs_github(self) -> Settings:
        if self.changes.kind == "github" and self.github is None:
            raise PydanticCustomError(
                "github", "github: required when changes.kind is 'github' (for its webhook_secret)"
            )
        return self

    @model_validator(mode="after")
    def _names_unique(self) -> Settings:
        require_unique("project", [p.name for p in self.projects], key="projects")
        builders = [b.name for p in self.projects for b in p.builders]
        require_unique("builder", builders, key="projects")
        return self

    @model_validator(mode="after")
    def _repositories_unique(self) -> Settings:
        # A delivery names its repository, and the webhook hands it to one project: a
        # second project of the same repository would never build from it.
        seen: dict[str, int] = {}
        for p, project in enumerate(self.projects):
            key = repository_key(project.repository)
            if key and key in seen:
                raise PydanticCustomError(
                    "repository",
                    "projects[{p}].repository: {got} is projects[{first}]'s repository too; "
                    "give each repository one project",
                    {"p": p, "first": seen[key], "got": show(project.repository)},
                )
            seen.setdefault(key, p)
        return self

    @model_validator(mode="after")
    def _matrix_pools_fit(self) -> Settings:
        pools = [pool.name for pool in self.workers]
        for p, project in enumerate(self.projects):
            for builder in project.builders:
                check_matrix_pools(f"projects[{p}]", builder, pools)
        return self

    @model_validator(mode="after")
    def _pools_fit(self) -> Settings:
        require_unique("pool", [pool.name for pool in self.workers], key="workers")
        require_unique(
            "worker", [w for pool in self.workers for w in worker_names(pool)], key="workers"
        )
        if self.aws is None and any(pool.kind == "ec2" for pool in self.workers):
            raise PydanticCustomError("aws", "aws: required key is missing (an ec2 pool needs it)")
        pools = {pool.name for pool in self.workers}
        for p, project in enumerate(self.projects):
            for b, builder in enumerate(project.builders):
                for name in builder.pools or ():
                    if name not in pools:
                        raise PydanticCustomError(
                            "pool",
                            "projects[{p}].builders[{b}].pools: no pool named {name} in workers",
                            {"p": p, "b": b, "name": show(name)},
                        )
        return self

    @model_validator(mode="after")
    def _forks_trigger_what_forks_may_run(self) -> Settings:
        # A fork's build triggers its next builders as untrusted: one with no untrusted
        # pool would never start, and a trigger that waits for it would hold its worker
        # and its locks for ever.
        for p, project in enumerate(self.projects):
            forks = set(self.fork_builders(project))
            for builder in project.builders:
                if builder.name not in forks:
                    continue
                for target in builder.then:
                    if target not in forks:
                        raise PydanticCustomError(
                            "pipeline",
                            "projects[{p}].builders: {builder} builds pull requests from "
                            "forks and triggers {target}, which has no pool for untrusted "
                            "builds: give {target} an untrusted pool too",
                            {"p": p, "builder": show(builder.name), "target": show(target)},
                        )
        return self

    @model_validator(mode="after")
    def _locks_fit(self) -> Settings:
        taken: dict[str, list[str]] = {}
        for p, project in enumerate(self.projects):
            for b, builder in enumerate(project.builders):
                key = f"projects[{p}].builders[{b}]"
                taken[f"{key}.locks"] = [use.name for use in builder.locks]
                for s, step in enumerate(builder.steps):
                    taken[f"{key}.steps[{s}].locks"] = [use.name for use in step.locks]
        check_locks(list(self.locks), taken)
        return self

    @model_validator(mode="after")
    def _untrusted_builds_have_a_pool(self) -> Settings:
        explicit = self.github is not None and self.github.pull_requests.forks is True
        if explicit and not any(pool.untrusted for pool in self.workers):
            raise PydanticCustomError(
                "forks",
                "github.pull_requests.forks: pull requests from forks build only on a pool "
                "marked untrusted: true, and there is none (mark an ephemeral pool: docker, "
                "or ec2 with idle_timeout: 0)",
            )
        for p, project in enumerate(self.projects):
            for b, builder in enumerate(project.builders):
                pools = self.pools_of(builder)
                if all(pool.untrusted for pool in pools):
                    raise PydanticCustomError(
                        "pool",
                        "projects[{p}].builders[{b}].pools: every one takes untrusted builds "
                        "only; add a pool for the trusted ones",
                        {"p": p, "b": b},
                    )
        return self

    @model_validator(mode="after")
    def _private_projects_are_not_read_anonymously(self) -> Settings:
        private = any(project.private for project in self.projects)
        if private and self.auth.anonymous_read:
            raise PydanticCustomError(
                "anonymous_read",
                "auth.anonymous_read: a private project's builds, logs and results would be "
                "read by anyone",
            )
        github = self.auth.github
        if not self.anonymous_read() and github is not None and not github.reader_orgs:
            raise PydanticCustomError(
                "reader_orgs",
                "auth.github.reader_orgs: required when visitors may not read anonymously "
                "(anyone can log in with GitHub): name the organisations whose members read",
            )
        return self

    @model_validator(mode="after")
    def _https_is_the_only_way_in(self) -> Settings:
        if self.deploy.https is None:
            return self
        if not HOST_NAME.fullmatch(self.buildmaster.host):
            raise PydanticCustomError(
                "https",
                "buildmaster.host: {host} is not a host name, which the HTTPS proxy needs for "
                "its certificate",
                {"host": show(self.buildmaster.host)},
            )
        if not (self.buildmaster.public_url or "").startswith("https://"):
            raise PydanticCustomError(
                "https", "buildmaster.public_url: must start with https:// when deploy.https is on"
            )
        if self.deploy.network == "host" and self.buildmaster.web_address not in LOOPBACK:
            raise PydanticCustomError(
                "https",
                "buildmaster.web_bind_address: must be a loopback address (127.0.0.1) when "
                "deploy.https is on and deploy.network is host, or the web port bypasses HTTPS",
            )
        return self

    def anonymous_read(self) -> bool:
        """Whether visitors who have not logged in may read: ``auth.anonymous_read``, by
        default unless a project is private."""
        if self.auth.anonymous_read is not None:
            return self.auth.anonymous_read
        return not any(project.private for project in self.projects)

    def forks_build(self) -> bool:
        """Whether pull requests from forks build: with webhooks, unless
        ``github.pull_requests`` says not (``forks``, ``build``); by default when a pool
        takes untrusted builds."""
        if self.changes.kind != "github" or self.github is None:
            return False
        rules = self.github.pull_requests
        if not rules.build or rules.forks is False:
            return False
        return any(pool.untrusted for pool in self.workers)

    def fork_builders(self, project: Project) -> list[str]:
        """The builders of ``project`` that build pull requests from forks: those with a
        pool for untrusted builds (none when forks do not build)."""
        if not self.forks_build():
            return []
        return [b.name for b in project.builders if any(p.untrusted for p in self.pools_of(b))]

    def pools_of(self, builder: Builder) -> list[AnyPool]:
        """The pools whose workers may run ``builder``'s builds."""
        return [
            pool for pool in self.workers if builder.pools is None or pool.name in builder.pools
        ]
