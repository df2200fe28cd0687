"""The database section: an SQLite file opened once, with commits that skip the fsync."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from buildbot.db import enginestrategy
from buildbot.db.pool import DBThreadPool
from twisted.internet import reactor

from config import database
from config.settings import validate
from tests.unit.test_settings import GOOD


def engine_for(url: str, basedir: Path) -> Any:
    """The engine Buildbot makes from our ``db`` section."""
    section = database.build(validate({**GOOD, "buildmaster": {"db_url": url}}))
    assert section["db_url"] == url
    return enginestrategy.create_engine(
        url, basedir=str(basedir), **section.get("engine_kwargs", {})
    )


def test_sqlite_file_keeps_one_connection_without_fsync_per_commit(tmp_path: Path) -> None:
    engine = engine_for("sqlite:///state.sqlite", tmp_path)
    with engine.connect() as first:
        # 1 is NORMAL; SQLite's default is 2, FULL: an fsync at every commit.
        assert first.exec_driver_sql("pragma synchronous").scalar() == 1
        opened = first.connection.dbapi_connection
    with engine.connect() as second:
        assert second.connection.dbapi_connection is opened  # reused, not reopened
    assert (tmp_path / "state.sqlite").exists()
    engine.dispose()


def test_memory_and_other_databases_keep_buildbots_engine() -> None:
    for url in ("sqlite://", "postgresql+psycopg2://bb@127.0.0.1/bb"):
        assert database.build(validate({**GOOD, "buildmaster": {"db_url": url}})) == {"db_url": url}


def test_sqlite_file_is_queried_in_the_callers_thread(tmp_path: Path) -> None:
    engine = engine_for("sqlite:///state.sqlite", tmp_path)
    pool = DBThreadPool(engine, reactor)
    asked: list[int] = []

    def query(conn: Any, number: int) -> int:
        asked.append(threading.get_ident())
        return int(conn.exec_driver_sql(f"select {number} + 1").scalar())

    answered = pool.do(query, 41)
    assert asked == [threading.get_ident()]
    assert answered.result == 42  # fired before do returned

    def broken(conn: Any) -> None:
        conn.exec_driver_sql("select * from no_such_table")

    failed = pool.do(broken)
    errors: list[Exception] = []
    failed.addErrback(lambda failure: errors.append(failure.value))
    assert [type(error).__name__ for error in errors] == ["OperationalError"]
    engine.dispose()


def test_sqlite_in_memory_keeps_buildbots_query_thread(tmp_path: Path) -> None:
    database.sqlite_queried_in_reactor_thread()
    installed = DBThreadPool.do
    database.sqlite_queried_in_reactor_thread()  # as at a reconfig: no second layer
    assert DBThreadPool.do is installed
    engine = engine_for("sqlite://", tmp_path)
    pool = DBThreadPool(engine, reactor)
    asked: list[int] = []
    waiting = pool.do(lambda conn: asked.append(threading.get_ident()))
    assert not waiting.called and asked == []  # queued for the pool's thread, not run here
    engine.dispose()
