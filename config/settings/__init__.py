"""The master's settings: one schema, read from the environment, validated as a whole.

Settings arrive as JSON in ``BUILDBOT_CONFIG`` or in a JSON/YAML file named by
``BUILDBOT_CONFIG_FILE`` (:mod:`.loader`). One pydantic model per section, a module per
concern (:mod:`.buildmaster`, :mod:`.worker_tls`, :mod:`.auth`, :mod:`.workers`,
:mod:`.github`, :mod:`.zulip`, :mod:`.deploy`, :mod:`.builds`, :mod:`.recipes`,
:mod:`.storage`), the value
types they share (:mod:`.values`), a repository's owner and name (:mod:`.repositories`),
and the document that holds them and checks the rules spanning sections
(:mod:`.document`). Every problem becomes a :class:`SettingsError` whose message is one
line naming the key path (:mod:`.errors`), e.g. ``config: aws.max_spot_price: must be a
positive number, got "cheap"``. Fields typed ``SecretStr`` are the secrets:
:mod:`config.secrets` hands exactly those to Buildbot's secret machinery.

This package is the bottom of ``config/``: it imports nothing else of it (only ``mends``,
for the names of the mends). Everything else imports its models from here.
"""

from config.settings.auth import Auth, GitHubLogin
from config.settings.buildmaster import Buildmaster, MessageQueue
from config.settings.builds import BotIdentity, Changes, Limits, Results
from config.settings.deploy import Deploy, Https
from config.settings.document import Settings
from config.settings.errors import SettingsError
from config.settings.github import GitHub, GitHubApp, PullRequests
from config.settings.loader import ENV_FILE, ENV_JSON, load, parse, validate
from config.settings.pipelines import Lock, LockUse
from config.settings.recipes import (
    Builder,
    CommandOptions,
    DocsStep,
    LintStep,
    Project,
    PropertyStep,
    PublishStep,
    RunStep,
    StepOptions,
    TestStep,
    UploadStep,
)
from config.settings.storage import S3, S3Place
from config.settings.workers import (
    AnyPool,
    Aws,
    DockerPool,
    Ec2Pool,
    LocalPool,
    StaticPool,
    worker_names,
)
from config.settings.zulip import Zulip

__all__ = [
    "ENV_FILE",
    "ENV_JSON",
    "S3",
    "AnyPool",
    "Auth",
    "Aws",
    "BotIdentity",
    "Builder",
    "Buildmaster",
    "Changes",
    "CommandOptions",
    "Deploy",
    "DockerPool",
    "DocsStep",
    "Ec2Pool",
    "GitHub",
    "GitHubApp",
    "GitHubLogin",
    "Https",
    "Limits",
    "LintStep",
    "LocalPool",
    "Lock",
    "LockUse",
    "MessageQueue",
    "Project",
    "PropertyStep",
    "PublishStep",
    "PullRequests",
    "Results",
    "RunStep",
    "S3Place",
    "Settings",
    "SettingsError",
    "StaticPool",
    "StepOptions",
    "TestStep",
    "UploadStep",
    "Zulip",
    "load",
    "parse",
    "validate",
    "worker_names",
]
