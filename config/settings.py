"""The master's settings: one schema, read from the environment, validated as a whole.

Settings arrive as JSON in ``BUILDBOT_CONFIG`` (the way the original shipped them in a
Docker environment variable) or in a JSON/YAML file named by ``BUILDBOT_CONFIG_FILE``.
Every problem becomes a :class:`SettingsError` whose message is one line naming the key
path, e.g. ``config: aws.max_spot_price: must be a positive number, got "cheap"``.
Fields typed ``SecretStr`` are the secrets: :mod:`config.secrets` hands exactly those to
Buildbot's secret machinery, and nothing else reads their values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from buildbot.config.errors import ConfigErrors
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import mends

ENV_JSON = "BUILDBOT_CONFIG"
ENV_FILE = "BUILDBOT_CONFIG_FILE"


class SettingsError(ConfigErrors):
    """A settings document that cannot be used; ``str()`` is the one-line message.

    It is one of Buildbot's own ConfigErrors, so ``buildbot checkconfig`` and a starting
    master print the line and exit non-zero without a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__([message])


# --- value types with messages a user understands ---------------------------------------


def _show(value: Any) -> str:
    """A value as it would appear in the user's JSON, shortened, on one printable line."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_number(value: Any) -> float:
    if not _is_number(value) or not value > 0 or value == float("inf"):
        raise PydanticCustomError(
            "positive_number", "must be a positive number, got {got}", {"got": _show(value)}
        )
    return float(value)


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
        raise PydanticCustomError(
            "count", "must be a whole number from 1 to 1000, got {got}", {"got": _show(value)}
        )
    return value


def _seconds(value: Any) -> float:
    if not _is_number(value) or not 0 <= value <= 86400:
        raise PydanticCustomError(
            "seconds",
            "must be a number of seconds from 0 to 86400, got {got}",
            {"got": _show(value)},
        )
    return float(value)


def _port(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise PydanticCustomError(
            "port", "must be a TCP port from 1 to 65535, got {got}", {"got": _show(value)}
        )
    return value


def _name(value: str) -> str:
    """Names become Buildbot identifiers, URLs and file names: keep them plain."""
    if not value or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in value):
        raise PydanticCustomError(
            "name",
            "must be letters, digits, '-', '_' or '.', got {got}",
            {"got": _show(value)},
        )
    return value


def _mend(value: str) -> str:
    if value not in mends.NAMES:
        raise PydanticCustomError(
            "mend",
            "must name a mend ({names}), got {got}",
            {"names": ", ".join(mends.NAMES), "got": _show(value)},
        )
    return value


DB_DRIVERS = ("sqlite", "postgresql", "postgresql+psycopg2")


def _db_url(value: str) -> str:
    """An SQLAlchemy URL for a database Buildbot supports and we ship a driver for."""
    try:
        driver = make_url(value).drivername
    except ArgumentError:
        driver = None
    if driver not in DB_DRIVERS:
        schemes = ", ".join(f"{d}://" for d in DB_DRIVERS)
        # Show the scheme only: the rest may hold the database password.
        got = _show(value.split(":")[0])
        raise PydanticCustomError(
            "db_url",
            "must be a database URL starting {schemes}, got {got}",
            {"schemes": schemes, "got": got},
        )
    return value


PositiveNumber = Annotated[float, BeforeValidator(_positive_number)]
Count = Annotated[int, BeforeValidator(_count)]
Seconds = Annotated[float, BeforeValidator(_seconds)]
Port = Annotated[int, BeforeValidator(_port)]
Name = Annotated[str, Field(max_length=100), AfterValidator(_name)]
Text = Annotated[str, Field(min_length=1, max_length=1000)]
Command = Annotated[list[Text], Field(min_length=1)]


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, values are strict."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- sections ---------------------------------------------------------------------------


class MessageQueue(Section):
    """Buildbot's ``wamp`` message queue: a crossbar router all masters of a cluster share."""

    router_url: Annotated[Text, Field(pattern=r"^wss?://")]
    realm: Text = "buildbot"


Role = Literal["web", "schedulers", "workers"]


class Buildmaster(Section):
    host: Text = "127.0.0.1"
    public_url: Text | None = None
    web_port: Port = 8010
    worker_port: Port = 9989
    bind_address: Text = "127.0.0.1"
    db_url: Annotated[Text, AfterValidator(_db_url)] = "sqlite:///state.sqlite"
    title: Text = "Buildbot"
    mq: MessageQueue | None = None
    roles: Annotated[list[Role], Field(min_length=1)] = ["web", "schedulers", "workers"]
    mends: bool = True
    mends_off: list[Annotated[str, AfterValidator(_mend)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cluster_shares_a_database(self) -> Buildmaster:
        if self.mq is not None and make_url(self.db_url).drivername.startswith("sqlite"):
            raise PydanticCustomError(
                "shared_db", "db_url must name a PostgreSQL server when mq joins masters together"
            )
        if self.mq is None and set(self.roles) != {"web", "schedulers", "workers"}:
            raise PydanticCustomError(
                "roles", "roles can leave something out only for a master with mq set"
            )
        return self

    @property
    def url(self) -> str:
        """The public base URL of the web UI, ending in '/'."""
        url = self.public_url or f"http://{self.host}:{self.web_port}/"
        return url if url.endswith("/") else url + "/"


def _team(value: str) -> str:
    org, _, team = value.partition("/")
    if not org or not team or "/" in team:
        raise PydanticCustomError(
            "team", "must be an organisation's team as org/team, got {got}", {"got": _show(value)}
        )
    return value


Team = Annotated[Text, AfterValidator(_team)]


class GitHubLogin(Section):
    """Logins through GitHub's OAuth (Buildbot's ``GitHubAuth``); admins by team or login."""

    client_id: Text
    client_secret: SecretStr
    # GitHub Enterprise's address (https://ghe.example.com); null: github.com.
    server_url: Text | None = None
    admin_teams: list[Team] = Field(default_factory=list)
    admin_users: list[Text] = Field(default_factory=list)


class Auth(Section):
    users: dict[Name, SecretStr] = Field(default_factory=dict)
    admins: list[Name] = Field(default_factory=list)
    github: GitHubLogin | None = None
    # /metrics asks for a user of ``users`` (HTTP basic auth) when true.
    metrics_login: bool = False

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> Auth:
        if (self.github is not None) == bool(self.users or self.admins):
            raise PydanticCustomError(
                "login",
                "log in with passwords (users, admins) or with GitHub (github): one of them",
            )
        if self.github is not None and self.metrics_login:
            raise PydanticCustomError(
                "metrics_login", "metrics_login needs password users; GitHub logins cannot scrape"
            )
        return self

    @model_validator(mode="after")
    def _admins_are_users(self) -> Auth:
        for admin in self.admins:
            if admin not in self.users:
                raise PydanticCustomError(
                    "admin", "admin {admin} is not one of auth.users", {"admin": _show(admin)}
                )
        return self


class Pool(Section):
    """What every worker pool has: a name (its workers' names start with it) and how many
    builds one of its workers runs at once."""

    name: Name = "worker"
    max_builds: Count = 1


class LocalPool(Pool):
    """Worker processes on the master's own machine (``make run``, tests), started with
    the master: ``<name>-1`` .. ``<name>-<count>``, sharing one password."""

    kind: Literal["local"]
    count: Count = 2
    password: SecretStr


class StaticWorker(Section):
    name: Name
    password: SecretStr


class StaticPool(Pool):
    """Machines the team runs itself, each with its own name and password; the master
    never starts or stops them."""

    kind: Literal["static"]
    workers: Annotated[list[StaticWorker], Field(min_length=1)]


Market = Literal["spot", "spot-then-on-demand", "on-demand"]


class Ec2Pool(Pool):
    """Latent workers on EC2 instances the master starts and stops: ``<name>-1`` ..
    ``<name>-<count>``. What is left out comes from the ``aws`` section."""

    kind: Literal["ec2"]
    count: Count = 2
    ami_name: Name | None = None
    ami_owners: Annotated[list[AmiOwner], Field(min_length=1)] | None = None
    # Tried in order when AWS has no capacity (or no price) for one: every type in the
    # first subnet, then in the next.
    instance_types: Annotated[list[Text], Field(min_length=1)] | None = None
    subnets: Annotated[list[Text], Field(min_length=1)] | None = None
    max_spot_price: PositiveNumber | None = None
    market: Market = "spot"
    instance_profile: Text | None = None
    idle_timeout: Seconds | None = None
    tags: dict[Name, Text] = Field(default_factory=dict)


class DockerPool(Pool):
    """A new container per build on a Docker host (Buildbot's ``DockerLatentWorker``),
    removed after the build: ``<name>-1`` .. ``<name>-<count>`` builds at once."""

    kind: Literal["docker"]
    count: Count = 2
    image: Text
    docker_host: Text = "unix:///var/run/docker.sock"
    # Docker's network mode for the containers (``host``: they share the host's network).
    network_mode: Text | None = None
    # Where the containers reach the master (host:port); default buildmaster.host and
    # worker_port.
    master_address: Text | None = None


AnyPool = Annotated[LocalPool | StaticPool | Ec2Pool | DockerPool, Field(discriminator="kind")]
POOL_KINDS = ("local", "static", "ec2", "docker")


def _pools(value: Any) -> Any:
    """The one-pool form (a mapping, ``kind`` by default local) is a list of that pool,
    named ``worker`` as before (its workers stay ``worker-1`` ..)."""
    if not isinstance(value, Mapping):
        return value
    pool = {"kind": "local", **value}
    if pool["kind"] == "ec2" and pool.get("password", "") is None:
        del pool["password"]  # the one-pool form allowed ``password: null`` for ec2
    return [pool]


Pools = Annotated[list[AnyPool], Field(min_length=1), BeforeValidator(_pools)]


def worker_names(pool: LocalPool | StaticPool | Ec2Pool | DockerPool) -> list[str]:
    """The names ``pool``'s workers log in with."""
    if isinstance(pool, StaticPool):
        return [worker.name for worker in pool.workers]
    return [f"{pool.name}-{n}" for n in range(1, pool.count + 1)]


def _ami_owner(value: str) -> str:
    if not (value.isdigit() and len(value) == 12) and value not in ("self", "amazon"):
        raise PydanticCustomError(
            "ami_owner",
            "must be a 12-digit AWS account id, 'self' or 'amazon', got {got}",
            {"got": _show(value)},
        )
    return value


AmiOwner = Annotated[str, AfterValidator(_ami_owner)]


class Aws(Section):
    """Where and how the EC2 spot workers start (used when workers.kind is 'ec2')."""

    region: Text
    # Both or neither: without them boto3's default chain is used (the master's instance
    # role, AWS_* variables, a shared profile), and the settings hold no AWS secret.
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    endpoint_url: Text | None = None
    ami_name: Name = "fedora-buildslave-base"
    ami_owners: Annotated[list[AmiOwner], Field(min_length=1)] = Field(
        default_factory=lambda: ["self"]
    )
    ami_production_only: bool = True
    instance_type: Text = "c5.large"
    max_spot_price: PositiveNumber
    keypair: Text
    security_group: Text | None = None
    subnet_id: Text | None = None
    # EC2 bills by the second: an idle worker costs its instance's price for every idle
    # second, against a new instance's boot (a minute or two) and its cold caches.
    build_wait_timeout: Seconds = 600.0
    start_timeout: Seconds = 600.0
    connect_timeout: Seconds = 900.0
    api_attempts: Count = 8
    wheelhouse_url: Text | None = None
    # An IAM instance profile (name or ARN) for the workers' instances, e.g. for uploads.
    instance_profile: Text | None = None
    # Seconds an instance type, subnet and market that just had no capacity is passed over.
    capacity_skip: Seconds = 600.0
    # USD per hour of an on-demand instance, per type: what the cost figures count.
    on_demand_prices: dict[Text, PositiveNumber] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_together(self) -> Aws:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise PydanticCustomError(
                "keys",
                "access_key_id and secret_access_key go together: give both, or neither "
                "to use the master's instance role (boto3's default credentials)",
            )
        return self

    @model_validator(mode="after")
    def _group_or_subnet(self) -> Aws:
        if self.security_group is None and self.subnet_id is None:
            raise PydanticCustomError(
                "network", "security_group or subnet_id is required (where instances run)"
            )
        return self


class Changes(Section):
    kind: Literal["github", "poll"] = "poll"
    interval: PositiveNumber = 30.0
    branches: Literal["all", "main_and_release"] = "all"
    # A new commit on a branch or pull request cancels the builds of its older commits.
    cancel_superseded: bool = True


# GitHub's author_association values (the author's relation to the base repository).
Association = Literal[
    "OWNER",
    "MEMBER",
    "COLLABORATOR",
    "CONTRIBUTOR",
    "FIRST_TIME_CONTRIBUTOR",
    "FIRST_TIMER",
    "MANNEQUIN",
    "NONE",
]


class PullRequests(Section):
    """Which pull requests build from their ``pull_request`` deliveries, and which wait.

    A pull request waits for an admin's approval (in the web UI, or the ``approve_label``
    added on GitHub) when its author's association is not ``trusted``, or when it comes
    from a fork and ``forks_need_approval`` is true.
    """

    build: bool = True
    drafts: bool = True
    trusted: list[Association] = ["OWNER", "MEMBER", "COLLABORATOR"]
    forks_need_approval: bool = True
    approve_label: Text | None = "ci-approved"


class GitHubApp(Section):
    """The master acts as this GitHub App, with short-lived installation tokens."""

    app_id: Annotated[int, Field(gt=0)]
    private_key: SecretStr
    # The installation on the organisation; null: found for each repository.
    installation_id: Annotated[int, Field(gt=0)] | None = None


class GitHub(Section):
    # A personal access token, or a GitHub App (one of the two).
    token: SecretStr | None = None
    app: GitHubApp | None = None
    webhook_secret: SecretStr
    api_url: Text = "https://api.github.com"
    report_status: bool = True
    pull_requests: PullRequests = Field(default_factory=PullRequests)

    @model_validator(mode="after")
    def _token_or_app(self) -> GitHub:
        if (self.token is None) == (self.app is None):
            raise PydanticCustomError(
                "credentials",
                "give token (a personal access token) or app (a GitHub App), one of them",
            )
        return self


class Zulip(Section):
    site: Text
    bot_email: Text
    api_key: SecretStr
    stream: Text = "buildbot"
    # Alerts when a main branch fails, and the master's own errors; null: not sent.
    critical_stream: Text | None = None
    ops_stream: Text | None = None
    # At most one message of master errors per this many seconds.
    ops_interval: Seconds = 300.0


class Deploy(Section):
    """Where and how ``fabfile.py`` runs the master's container on its host."""

    host: Text | None = None
    image: Text = "buildmaster"
    tag: Text = "latest"
    docker: Command = Field(default_factory=lambda: ["docker"])
    run_options: list[Text] = Field(default_factory=list)
    container: Name = "buildmaster"
    volume: Name = "buildmaster-data"
    network: Name | None = None
    settings_dir: Text = "/etc/buildmaster"
    settings_via: Literal["file", "env"] = "file"
    health_timeout: Seconds = 300.0


class Identity(Section):
    name: Text = "Buildbot"
    email: Text = "buildbot@localhost"


class StepOptions(Section):
    """What every recipe step has: its name in the UI, where it runs, whether it halts."""

    name: Name | None = None
    workdir: Text | None = None
    halt_on_failure: bool = True


class CommandOptions(StepOptions):
    """What every step that runs a command has."""

    env: dict[Annotated[str, Field(min_length=1)], str] = Field(default_factory=dict)
    timeout: PositiveNumber = 1200.0


class RunStep(CommandOptions):
    """A shell command; the step fails when the command does."""

    kind: Literal["run"]
    command: Command


class TestStep(RunStep):
    """Runs tests and shows their pass/fail counts.

    For ``trial`` the command is the trial program followed by its arguments.
    """

    kind: Literal["test"]  # type: ignore[assignment]
    runner: Literal["pytest", "trial"] = "pytest"


class LintStep(RunStep):
    """Runs a linter and counts its warnings: output lines matching ``warning_pattern``."""

    kind: Literal["lint"]  # type: ignore[assignment]
    halt_on_failure: bool = False
    # ``path:line:`` is how flake8, ruff (concise), mypy and pylint (parseable) report.
    warning_pattern: Text = r"^\S+:\d+:"


class DocsStep(CommandOptions):
    """Builds Sphinx documentation and counts its warnings."""

    kind: Literal["docs"]
    sphinx: Command = ["sphinx-build"]
    sourcedir: Text = "docs"
    builddir: Text = "docs/_build/html"
    builder: Text = "html"
    strict: bool = False


class UploadStep(StepOptions):
    """Copies a directory of the worker's tree to the master and links it from the build.

    It lands in ``results/<project>/<branch>/<builder>-<number>/<name>`` below the
    master's directory, which the master serves at ``/results/``; ``url`` is where that
    ``results/`` directory is published instead, if elsewhere.
    """

    kind: Literal["upload"]
    source: Text
    url: Text | None = None


Step = Annotated[RunStep | TestStep | LintStep | DocsStep | UploadStep, Field(discriminator="kind")]
STEP_KINDS = ("run", "test", "lint", "docs", "upload")


class Builder(Section):
    name: Name
    steps: Annotated[list[Step], Field(min_length=1)]
    # Builders naming the same lock never run at the same time on one worker.
    lock: Name | None = None
    # The worker pools (by name) whose workers may run its builds; null: every pool.
    pools: Annotated[list[Name], Field(min_length=1)] | None = None


class Project(Section):
    name: Name
    repository: Text
    merge_into: Text = "master"
    release_prefix: Text = "release/"
    builders: Annotated[list[Builder], Field(min_length=1)]
    # Builders known to fail: their failures are listed apart and are a success on GitHub.
    failing_builders: list[Name] = Field(default_factory=list)
    # Branches (glob patterns) whose builds a newer commit never cancels; null: merge_into
    # and the release branches. Tags and merge-queue branches are never cancelled.
    never_cancel: list[Text] | None = None

    @property
    def kept_branches(self) -> list[str]:
        """``never_cancel``, or its default."""
        if self.never_cancel is not None:
            return self.never_cancel
        return [self.merge_into, self.release_prefix + "*"]

    @model_validator(mode="after")
    def _builder_names_unique(self) -> Project:
        _require_unique("builder", [b.name for b in self.builders])
        return self

    @model_validator(mode="after")
    def _failing_builders_exist(self) -> Project:
        names = {b.name for b in self.builders}
        for name in self.failing_builders:
            if name not in names:
                raise PydanticCustomError(
                    "failing_builder",
                    "failing_builders: {name} is not one of this project's builders",
                    {"name": _show(name)},
                )
        return self


class Results(Section):
    """Published build results and housekeeping: how long results and logs are kept."""

    keep_days: Count = 14
    log_keep_days: Count = 90


class Settings(Section):
    buildmaster: Buildmaster = Field(default_factory=Buildmaster)
    # No default: only the user can say who may log in.
    auth: Auth
    # No default: local workers (the default kind) need a password only the user can give.
    workers: Pools
    changes: Changes = Field(default_factory=Changes)
    bot: Identity = Field(default_factory=Identity)
    github: GitHub | None = None
    zulip: Zulip | None = None
    aws: Aws | None = None
    deploy: Deploy = Field(default_factory=Deploy)
    tree_stable_timer: Seconds = 5.0
    results: Results = Field(default_factory=Results)
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
        _require_unique("project", [p.name for p in self.projects], key="projects")
        builders = [b.name for p in self.projects for b in p.builders]
        _require_unique("builder", builders, key="projects")
        return self

    @model_validator(mode="after")
    def _pools_fit(self) -> Settings:
        _require_unique("pool", [pool.name for pool in self.workers], key="workers")
        _require_unique(
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
                            {"p": p, "b": b, "name": _show(name)},
                        )
        return self

    def pools_of(self, builder: Builder) -> list[AnyPool]:
        """The pools whose workers may run ``builder``'s builds."""
        return [
            pool for pool in self.workers if builder.pools is None or pool.name in builder.pools
        ]


def _require_unique(what: str, names: list[str], key: str = "") -> None:
    """Names must differ; ``key`` names where, for a check whose error has no location."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise PydanticCustomError(
                "duplicate",
                "{key}{what} name {name} is used twice",
                {"key": f"{key}: " if key else "", "what": what, "name": _show(name)},
            )
        seen.add(name)


# --- reading and reporting --------------------------------------------------------------

_MESSAGES = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "literal_error": "must be one of {expected}, got {got}",
    "string_type": "must be a string, got {got}",
    "bool_type": "must be true or false, got {got}",
    "list_type": "must be a list, got {got}",
    "dict_type": "must be a mapping, got {got}",
    "model_type": "must be a mapping, got {got}",
    "model_attributes_type": "must be a mapping, got {got}",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
    "string_pattern_mismatch": "must match {pattern}, got {got}",
    "string_too_long": "is too long (at most {max_length} characters)",
    "union_tag_invalid": "kind must be one of {expected_tags}, got {shown_tag}",
    "union_tag_not_found": "needs a 'kind' key",
}


def _path(loc: tuple[int | str, ...]) -> str:
    """``('projects', 0, 'builders', 1, 'run', 'command')`` -> ``projects[0].builders[1].command``.

    Pydantic puts a discriminated union's tag (the step kind) into the location; a user
    never wrote it, so it is left out.
    """
    parts: list[str] = []
    previous: int | str | None = None
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
        elif not (isinstance(previous, int) and item in (*STEP_KINDS, *POOL_KINDS)):
            # A key the user mistyped may hold anything, even a line break: quote it then.
            plain = item.isascii() and item.replace("-", "_").isidentifier()
            parts.append(item if plain else _show(item))
        previous = item
    return ".".join(parts)


def _describe(error: ErrorDetails) -> str:
    """One error as ``path: message``."""
    path = _path(error["loc"])
    template = _MESSAGES.get(error["type"])
    if template is None:
        message = error["msg"]
        message = message[0].lower() + message[1:] if message else message
    else:
        context = dict(error.get("ctx") or {})
        if "tag" in context:
            context["shown_tag"] = _show(context["tag"])
        message = template.format(got=_show(error["input"]), **context)
    return f"{path}: {message}" if path else message


def validate(document: Any, source: str = ENV_JSON) -> Settings:
    """Validate a parsed settings document; raise :class:`SettingsError` on the first problem."""
    if not isinstance(document, Mapping):
        raise SettingsError(
            f"config: {source}: must be a mapping of settings, got {_show(document)}"
        )
    try:
        return Settings.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        first = _describe(errors[0])
        if isinstance(document.get("workers"), Mapping):  # the one-pool form, as written
            first = first.replace("workers[0]", "workers", 1)
        raise SettingsError(f"config: {first}{more}") from None


def parse(text: str, source: str, *, yaml_allowed: bool) -> Any:
    """Parse JSON (or YAML, a superset, for files); errors name the source and position."""
    try:
        if yaml_allowed:
            return yaml.safe_load(text)
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"config: {source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise SettingsError(f"config: {source}: invalid YAML{where}: {problem}") from None


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings named by the environment."""
    env = os.environ if environ is None else environ
    if env.get(ENV_JSON):
        return validate(parse(env[ENV_JSON], ENV_JSON, yaml_allowed=False), ENV_JSON)
    if env.get(ENV_FILE):
        path = Path(env[ENV_FILE])
        source = f"{ENV_FILE} {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise SettingsError(f"config: {source}: cannot read: {reason}") from None
        return validate(parse(text, source, yaml_allowed=True), source)
    raise SettingsError(f"config: set {ENV_JSON} (JSON) or {ENV_FILE} (a JSON or YAML file)")
