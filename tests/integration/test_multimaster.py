"""Two masters, one PostgreSQL database, one crossbar router: Buildbot's multi-master mode."""

from __future__ import annotations

import pytest

from tests.conftest import StartMaster, local_settings
from tests.harness import SUCCESS, Crossbar, GitRepo, Postgres, wait_for
from tests.integration.test_build import CHECKS

pytestmark = pytest.mark.slow


def test_push_seen_by_one_master_is_built_on_the_others_worker(
    repo: GitRepo, postgres: Postgres, crossbar: Crossbar, start_master: StartMaster
) -> None:
    shared = {
        "db_url": postgres.create_database("cluster"),
        "mq": {"router_url": crossbar.url, "realm": crossbar.REALM},
    }
    front = local_settings(repo.url, CHECKS, buildmaster=shared | {"roles": ["web", "schedulers"]})
    back = local_settings(repo.url, CHECKS, buildmaster=shared | {"roles": ["web", "workers"]})
    front_master = start_master(front, wait_workers=False)
    back_master = start_master(back)

    sha = repo.push_commit("feature", {"check.sh": "echo built by the back master\n"})
    [build] = back_master.wait_for_builds(1)

    assert build["results"] == SUCCESS
    assert back_master.properties(build["buildid"])["got_revision"] == sha
    masters = {m["masterid"]: m["name"] for m in front_master.get("masters")["masters"]}
    assert masters[build["masterid"]].endswith(str(back_master.cluster.master_dir))
    # The front master's UI shows the build the back master ran, with its result.
    [seen] = wait_for(
        "the build in the front master's API",
        lambda: front_master.builds(complete="true") or None,
    )
    assert (seen["buildid"], seen["results"]) == (build["buildid"], SUCCESS)
    changes = front_master.get("changes")["changes"]
    assert [c["revision"] for c in changes] == [sha]
