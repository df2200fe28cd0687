"""A push to a watched repository becomes a build on a real worker.

The success case runs on both databases the master supports: SQLite (the default) and a
real PostgreSQL server.
"""

from __future__ import annotations

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import FAILURE, SUCCESS, GitRepo, Postgres

pytestmark = pytest.mark.slow

CHECKS = [
    {"name": "checks", "steps": [{"kind": "run", "name": "check", "command": ["sh", "check.sh"]}]}
]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_push_to_branch_builds_with_success(
    repo: GitRepo, start_master: StartMaster, database: str, request: pytest.FixtureRequest
) -> None:
    db_url = "sqlite:///state.sqlite"
    if database == "postgresql":
        postgres: Postgres = request.getfixturevalue("postgres")
        db_url = postgres.create_database("core_build")
    master = start_master(local_settings(repo.url, CHECKS, buildmaster={"db_url": db_url}))
    sha = repo.push_commit("feature", {"check.sh": "echo all good\n"})

    [build] = master.wait_for_builds(1)

    assert build["results"] == SUCCESS
    assert master.properties(build["buildid"])["got_revision"] == sha
    assert "all good" in master.log(build["buildid"], "check")
    if database == "postgresql":
        assert postgres.query("core_build", "select count(*) from builds where results = 0") == "1"


def test_failing_checks_give_failure(repo: GitRepo, start_master: StartMaster) -> None:
    master = start_master(local_settings(repo.url, CHECKS))
    repo.push_commit("broken", {"check.sh": "echo broken >&2; exit 3\n"})

    [build] = master.wait_for_builds(1)

    assert build["results"] == FAILURE
    assert "broken" in master.log(build["buildid"], "check")
