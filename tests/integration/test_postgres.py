"""The core build on PostgreSQL: the master's state in a real server instead of SQLite."""

from __future__ import annotations

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import SUCCESS, GitRepo, Postgres
from tests.integration.test_build import CHECKS

pytestmark = pytest.mark.slow


def test_push_builds_with_state_in_postgresql(
    repo: GitRepo, start_master: StartMaster, postgres: Postgres
) -> None:
    db_url = postgres.create_database("core_build")
    master = start_master(local_settings(repo.url, CHECKS, buildmaster={"db_url": db_url}))
    repo.branch("feature")
    sha = repo.commit({"check.sh": "echo all good\n"})
    repo.push()

    [build] = master.wait_for_builds(1)

    assert build["results"] == SUCCESS
    assert master.properties(build["buildid"])["got_revision"] == sha
    tables = postgres.query("core_build", "select count(*) from builds where results = 0")
    assert tables == "1"
