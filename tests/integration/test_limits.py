"""What one build or delivery may take of the master, and who may read a private project.

One master, with small limits and a private project: a build that uploads too much, one
that prints too much, one that runs too long, and a webhook delivery too large are each
refused with a message naming the limit, and the master goes on building. Visitors who
have not logged in read nothing of the private project on any path: the REST API, the
websocket, ``/results``, ``/metrics`` and the test results view; a logged-in reader reads
it all, and the uploaded results come with a sandboxing policy.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.harness import FAILURE, SUCCESS, GitRepo, Master
from tests.integration.test_webhook import SECRET, answer, push_payload, sign

pytestmark = pytest.mark.slow

KB = 1024
BUILDERS: list[dict[str, Any]] = [
    {
        "name": "uploads-too-much",
        "steps": [
            {
                "kind": "run",
                "command": ["sh", "-c", "mkdir -p out && head -c 300000 /dev/urandom > out/big"],
            },
            {"kind": "upload", "name": "big", "source": "out"},
        ],
    },
    {
        "name": "prints-too-much",
        "steps": [
            {
                "kind": "run",
                "name": "loud",
                "command": [
                    "sh",
                    "-c",
                    "echo first line; yes 'a line of output' | head -c 2000000; echo last line",
                ],
            }
        ],
    },
    {"name": "runs-too-long", "steps": [{"kind": "run", "command": ["sleep", "120"]}]},
    {
        "name": "within-limits",
        "steps": [
            {
                "kind": "run",
                "command": ["sh", "-c", "mkdir -p docs && echo '<p>hello</p>' > docs/index.html"],
            },
            {"kind": "upload", "name": "docs", "source": "docs"},
        ],
    },
]


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Master, GitRepo]]:
    root = tmp_path_factory.mktemp("limits")
    repo = GitRepo.started(root / "repo")
    settings = local_settings(
        repo.url,
        BUILDERS,
        changes={"kind": "github"},
        github={"token": "t", "webhook_secret": SECRET, "report_status": False},
        limits={"upload_mb": 0.2, "log_mb": 0.5, "build_minutes": 0.15, "webhook_mb": 0.05},
    )
    settings["workers"]["count"] = 4
    settings["projects"][0]["private"] = True
    cluster = LocalCluster(root / "cluster", settings)
    try:
        cluster.start()
        yield Master(cluster).reading_as("reader", "reader-pw"), repo
    finally:
        cluster.stop()


def test_each_limit_fails_its_build_with_its_name_and_the_master_goes_on(
    master: tuple[Master, GitRepo],
) -> None:
    server, repo = master
    sha = repo.push_commit("feature", {"f.txt": "f\n"})
    payload = push_payload(repo, "refs/heads/feature", sha)
    too_big = payload[:-1] + b', "padding": "' + b"x" * (60 * KB) + b'"}'
    status, said = answer(server, too_big, signature=sign(too_big))
    assert status == 400 and "Payload over" in said and "limits.webhook_mb" in said

    assert answer(server, payload, signature=sign(payload))[0] == 200
    builds = server.wait_for_builds(4, timeout=180)
    names = {b["builderid"]: b["name"] for b in server.get("builders")["builders"]}
    by_name = {names[b["builderid"]]: b for b in builds}

    def summaries(name: str) -> list[str]:
        return [s["state_string"] for s in server.steps(by_name[name]["buildid"])]

    assert by_name["uploads-too-much"]["results"] == FAILURE
    assert "uploads over the build's limit of 0.2 MB (limits.upload_mb)" in summaries(
        "uploads-too-much"
    )
    assert by_name["prints-too-much"]["results"] == FAILURE
    assert "log over 0.5 MB (limits.log_mb): kept its start and end" in summaries("prints-too-much")
    log = server.log(by_name["prints-too-much"]["buildid"], "loud")
    cut = "characters of output left out here: this log is over the limit of 0.5 MB"
    assert log.index("first line") < log.index(cut) < log.rindex("last line")
    assert len(log) < 600 * KB
    assert by_name["runs-too-long"]["results"] == FAILURE
    assert (
        "time limit of 0.15 minutes (limits.build_minutes)"
        in by_name["runs-too-long"]["state_string"]
    )
    assert by_name["within-limits"]["results"] == SUCCESS
    # Nothing of the refused upload stayed on the master's disk.
    results = server.cluster.master_dir / "results"
    assert not any(p.name == "big" for p in results.rglob("*"))


def test_a_private_project_is_read_by_logged_in_readers_only(
    master: tuple[Master, GitRepo],
) -> None:
    server, _ = master
    reader = server.reader
    assert reader is not None
    within = server.builder("within-limits")
    server.wait_for_builds(4, timeout=180)
    [build] = [b for b in server.builds() if b["builderid"] == within["builderid"]]
    page = f"{server.url}results/demo/feature/within-limits-{build['number']}/docs/index.html"
    view = "plugins/wsgi_dashboards/test-results"
    paths = ["api/v2/builds", "api/v2/builders", "api/v2/changes", "results/", "metrics"]
    for path in [*paths, f"{view}/index.html", f"{view}/build/{build['buildid']}"]:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + path, timeout=10)
        assert refused.value.code == 403, path
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(page, timeout=10)
    assert refused.value.code == 403
    assert websocket_status(server.url, cookie=None) == 403
    forged = urllib.request.Request(
        f"{server.url}{view}/index.html", headers={"Cookie": "TWISTED_SESSION=forged"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=10)
    assert refused.value.code == 403

    with reader.opener.open(page, timeout=10) as answered:
        assert b"hello" in answered.read()
        assert answered.headers["Content-Security-Policy"] == "sandbox"
        assert answered.headers["X-Content-Type-Options"] == "nosniff"
    with reader.opener.open(server.url + "metrics", timeout=10) as answered:
        assert b"buildbot_builds_finished_total" in answered.read()
    with reader.opener.open(f"{server.url}{view}/index.html", timeout=10) as answered:
        assert b"Recent builds" in answered.read()
    assert websocket_status(server.url, cookie=reader.cookie()) == 101


def websocket_status(url: str, cookie: str | None) -> int:
    """The status of a websocket handshake at ``/ws``, as the web UI opens it."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        **({"Cookie": cookie} if cookie else {}),
    }
    connection.request("GET", "/ws", headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status
