"""The ``buildmaster`` section: the master's address, ports, database, roles and mends."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import mends
from config.settings.values import Port, Section, Text, show
from config.settings.worker_tls import WorkerTls


def _mend(value: str) -> str:
    if value not in mends.NAMES:
        raise PydanticCustomError(
            "mend",
            "must name a mend ({names}), got {got}",
            {"names": ", ".join(mends.NAMES), "got": show(value)},
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
        got = show(value.split(":")[0])
        raise PydanticCustomError(
            "db_url",
            "must be a database URL starting {schemes}, got {got}",
            {"schemes": schemes, "got": got},
        )
    return value


class MessageQueue(Section):
    """Buildbot's ``wamp`` message queue: a crossbar router all masters of a cluster share."""

    router_url: Annotated[Text, Field(pattern=r"^wss?://")]
    realm: Text = "buildbot"


Role = Literal["web", "schedulers", "workers"]
ROLES: list[Role] = ["web", "schedulers", "workers"]


class Buildmaster(Section):
    host: Text = "127.0.0.1"
    public_url: Text | None = None
    web_port: Port = 8010
    worker_port: Port = 9989
    # The worker port's certificate; null: the master makes its own CA (README: Worker link).
    worker_tls: WorkerTls | None = None
    bind_address: Text = "127.0.0.1"
    web_bind_address: Text | None = None
    db_url: Annotated[Text, AfterValidator(_db_url)] = "sqlite:///state.sqlite"
    title: Text = "Buildbot"
    mq: MessageQueue | None = None
    roles: Annotated[list[Role], Field(min_length=1)] = Field(default_factory=ROLES.copy)
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
    def web_address(self) -> str:
        """The address the web port listens on: ``web_bind_address``, else ``bind_address``."""
        return self.web_bind_address or self.bind_address

    @property
    def url(self) -> str:
        """The public base URL of the web UI, ending in '/'."""
        url = self.public_url or f"http://{self.host}:{self.web_port}/"
        return url if url.endswith("/") else url + "/"
