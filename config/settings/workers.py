"""The ``workers`` section (the pools builds run on) and the ``aws`` section EC2 pools use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from config.settings.values import Count, Name, PositiveNumber, Seconds, Section, Text, show


def _ami_owner(value: str) -> str:
    if not (value.isdigit() and len(value) == 12) and value not in ("self", "amazon"):
        raise PydanticCustomError(
            "ami_owner",
            "must be a 12-digit AWS account id, 'self' or 'amazon', got {got}",
            {"got": show(value)},
        )
    return value


AmiOwner = Annotated[str, AfterValidator(_ami_owner)]


class Pool(Section):
    """What every worker pool has: a name (its workers' names start with it), how many
    builds one of its workers runs at once, and whether it takes untrusted builds.

    An untrusted pool runs the builds of pull requests from forks, and nothing else; it
    must be ephemeral (a new machine or container per build, gone after it), so that what
    one build leaves behind meets no other build. README: Safety.
    """

    name: Name = "worker"
    max_builds: Count = 1
    untrusted: bool = False

    def ephemeral(self) -> str | None:
        """None when every build gets a worker of its own that is gone after it, else
        why not."""
        return "its workers stay between builds"

    @model_validator(mode="after")
    def _untrusted_is_ephemeral(self) -> Pool:
        why = self.ephemeral() if self.untrusted else None
        if why is not None:
            raise PydanticCustomError(
                "untrusted",
                "untrusted: {why}, so an untrusted build could leave code for the next: only "
                "docker pools and ec2 pools with idle_timeout: 0 may take untrusted builds",
                {"why": why},
            )
        return self


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

    def ephemeral(self) -> str | None:
        if self.idle_timeout != 0:
            return "its instances wait for more builds (idle_timeout is not 0)"
        return None


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

    def ephemeral(self) -> str | None:
        return None  # a container per build, removed after it


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
