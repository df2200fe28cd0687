"""The database section: an SQLite file opened once, with commits that skip the fsync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from buildbot.db import enginestrategy

from config import database
from config.settings import validate
from tests.unit.settings.test_settings import GOOD


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
