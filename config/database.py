"""The database Buildbot keeps its state in."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from buildbot.db.pool import DBThreadPool
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import QueuePool
from twisted.internet import defer

from config.mending import wrap_once
from config.settings import Settings


def build(settings: Settings) -> dict[str, Any]:
    """The ``db`` section; an SQLite file is opened once, queried from the reactor's
    thread and commits without an fsync."""
    url = settings.buildmaster.db_url
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return {"db_url": url}
    sqlite_commits_without_fsync()
    sqlite_queried_in_reactor_thread()
    # Buildbot 4.3 opens SQLite files with SQLAlchemy's NullPool: a new connection for
    # every query and a close after it, and closing the last connection of a WAL
    # database checkpoints the journal into the database, with fsyncs: most of a
    # build's time on the master went there. Buildbot queries SQLite from one thread, so
    # one connection kept open (SQLAlchemy's own default for SQLite files) is safe.
    return {"db_url": url, "engine_kwargs": {"poolclass": QueuePool, "pool_size": 1}}


def sqlite_commits_without_fsync() -> None:
    """Every new SQLite connection runs with ``synchronous = NORMAL``.

    Buildbot 4.3 puts SQLite in WAL mode but leaves SQLite's default ``synchronous =
    FULL``, so each of the many small commits of a build (every log chunk, step start
    and end: dozens per build) waits for an fsync of the journal. In WAL mode ``NORMAL``
    keeps the database consistent after a crash; a power cut can lose only the last
    commits, i.e. the newest lines of builds that die with the machine anyway. Buildbot
    has no setting for it, so a SQLAlchemy listener sets it as connections are made
    (the engine is made after the configuration is loaded).
    """
    if not event.contains(Engine, "connect", _synchronous_normal):
        event.listen(Engine, "connect", _synchronous_normal)


def _synchronous_normal(connection: Any, _record: Any) -> None:
    if isinstance(connection, sqlite3.Connection):
        connection.execute("pragma synchronous = normal")


def sqlite_queried_in_reactor_thread() -> None:
    """Queries of an SQLite file kept open (as above) run in the reactor's thread.

    Buildbot 4.3 runs every query in a thread of its own pool, one thread for SQLite: a
    build makes about 200 queries, and each went to that thread and its result came back
    through the reactor's wake-up pipe, the two threads taking the GIL from each other
    every time. In ``make bench``'s burst that hand-over was about a third of the
    master's CPU per build (0.14-0.19 s before, 0.10-0.13 s after). SQLite
    answers these small queries in well under a millisecond, so the reactor now runs
    them itself, as Buildbot's own tests do with their fake database. What it gives up:
    the rare long query (the nightly janitor's deletes) holds the reactor while it runs.
    PostgreSQL, and SQLite in memory (one database per thread there), keep the pool.
    """
    wrap_once(DBThreadPool, "do", _sqlite_in_reactor_thread)


def _sqlite_in_reactor_thread(threaded: Callable[..., Any]) -> Callable[..., Any]:
    def do(self: DBThreadPool, callable: Any, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        engine = self.engine
        if engine.dialect.name != "sqlite" or not isinstance(engine.pool, QueuePool):
            queued: defer.Deferred[Any] = threaded(self, callable, *args, **kwargs)
            return queued
        # The pool's own retrying call, run here instead of in its thread.
        run = self._DBThreadPool__thd
        return defer.maybeDeferred(run, False, callable, *args, **kwargs)

    return do
