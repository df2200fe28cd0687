"""A build's new and changed properties, written in one transaction to a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from buildbot.db.model import Model

from config import property_writes

TABLE = Model.metadata.tables["build_properties"]


def stored(engine: sa.Engine, buildid: int) -> dict[str, tuple[object, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(TABLE).where(TABLE.c.buildid == buildid)).all()
    return {row.name: (json.loads(row.value), row.source) for row in rows}


def test_new_properties_are_inserted_and_changed_ones_updated(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    TABLE.create(engine)
    with engine.begin() as conn:
        property_writes.write(
            conn, TABLE, 7, {"branch": ("feature", "Build"), "number": (1, "Build")}, set()
        )
        property_writes.write(conn, TABLE, 8, {"branch": ("other", "Build")}, set())
    with engine.begin() as conn:
        property_writes.write(
            conn,
            TABLE,
            7,
            {"merge_base": ("abc123", "merge-forward"), "branch": ("feature-2", "Force")},
            {"branch", "number"},
        )

    assert stored(engine, 7) == {
        "branch": ("feature-2", "Force"),
        "number": (1, "Build"),
        "merge_base": ("abc123", "merge-forward"),
    }
    assert stored(engine, 8) == {"branch": ("other", "Build")}  # another build's, untouched
    engine.dispose()
