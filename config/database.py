"""The database Buildbot keeps its state in."""

from __future__ import annotations

import sqlite3
from typing import Any

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import QueuePool

from config.settings import Settings


def build(settings: Settings) -> dict[str, Any]:
    """The ``db`` section; an SQLite file is opened once and commits without an fsync.

    Every query still runs in Buildbot's database thread, never in the reactor's: a
    query that waits (a lock another process holds, the janitor's deletes) then holds
    up only the work that needs the database, while web requests, webhooks and worker
    links are answered.
    """
    count_statements()
    url = settings.buildmaster.db_url
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return {"db_url": url}
    sqlite_commits_without_fsync()
    # Buildbot 4.3 opens SQLite files with SQLAlchemy's NullPool: a new connection for
    # every query and a close after it, and closing the last connection of a WAL
    # database checkpoints the journal into the database, with fsyncs: most of a
    # build's time on the master went there. Buildbot queries SQLite from one thread, so
    # one connection kept open (SQLAlchemy's own default for SQLite files) is safe.
    # ``engine_kwargs`` is Buildbot's documented way to pass SQLAlchemy engine options.
    return {"db_url": url, "engine_kwargs": {"poolclass": QueuePool, "pool_size": 1}}


CACHED = ("Changes", "chdicts", "ssdicts", "BuildsetProperties", "objectids", "BuildRequests")
CACHES = {name: 200 for name in CACHED}
"""Buildbot's ``caches``: how many rows of each kind it keeps in memory.

Buildbot keeps one of most kinds by default, so in a burst each build's scheduling,
collapsing, reporters and pages read the same change, source stamp and buildset
properties again, and the build request distributor makes each waiting request's
object (its buildset, properties, source stamps and changes: four reads) again at every
look for work. These rows never change once written (and state object ids never at all;
a request's object holds only what its row, its buildset's reason, properties and
sources were made with, none of which Buildbot updates), so a kept one cannot go stale,
on one master or several; 200 hold a busy burst.
"""


STATEMENTS = Counter(
    "buildbot_database_statements",
    "SQL statements the master sent to its database since it started",
    registry=None,
)
"""Shown on ``/metrics``: the database is most of the master's work per build, and the
number of statements per build tells a change that adds to it from one that does not
whatever else runs on the machine (``make bench`` shows it per build)."""


def count_statements() -> None:
    """Every statement the master's database engine sends counts in :data:`STATEMENTS`
    (SQLAlchemy's public event API; an addition, well under a microsecond)."""
    if not event.contains(Engine, "before_cursor_execute", _count_statement):
        event.listen(Engine, "before_cursor_execute", _count_statement)


def _count_statement(*_event: Any) -> None:
    STATEMENTS.inc()


def sqlite_commits_without_fsync() -> None:
    """Every new SQLite connection runs with ``synchronous = NORMAL``.

    Buildbot 4.3 puts SQLite in WAL mode but leaves SQLite's default ``synchronous =
    FULL``, so each of the many small commits of a build (every log chunk, step start
    and end: dozens per build) waits for an fsync of the journal. In WAL mode ``NORMAL``
    keeps the database consistent after a crash; a power cut can lose only the last
    commits, i.e. the newest lines of builds that die with the machine anyway. Buildbot
    has no setting for it, so a SQLAlchemy listener (SQLAlchemy's public event API) sets
    it as connections are made (the engine is made after the configuration is loaded).
    """
    if not event.contains(Engine, "connect", _synchronous_normal):
        event.listen(Engine, "connect", _synchronous_normal)


def _synchronous_normal(connection: Any, _record: Any) -> None:
    if isinstance(connection, sqlite3.Connection):
        connection.execute("pragma synchronous = normal")
