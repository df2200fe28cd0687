"""Docs published to S3 (moto_server) by a real master and worker: a release branch
publishes its docs under their version and moves ``docs/latest`` to them; its next build
deletes what left the directory; a feature branch uploads its artifacts but skips the
publish, saying why.
"""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.harness import MOTO_REGION, SKIPPED, SUCCESS, GitRepo, Master, Moto

pytestmark = pytest.mark.slow

HOSTILE = 'a<b>&"x.txt'
"""A file name that is markup: the index page must show it as text."""


def builder(bucket: str) -> dict[str, Any]:
    return {
        "name": "docs",
        "steps": [
            {"kind": "property", "property": "version", "command": ["cat", "VERSION"]},
            {
                "kind": "upload",
                "name": "artifacts",
                "source": "site",
                "s3": {"bucket": bucket, "prefix": "builds/%(prop:branch)s/%(prop:buildnumber)s"},
            },
            {
                "kind": "publish",
                "name": "docs",
                "source": "site",
                "s3": {"bucket": bucket, "prefix": "docs/%(prop:version)s"},
                "stable": "docs/latest",
                "branches": ["release"],
            },
        ],
    }


@dataclass
class Published:
    master: Master
    s3: Any
    bucket: str
    moto: Moto
    after_first: set[str]
    """The keys in the bucket after the first release build."""

    def objects(self) -> set[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {item["Key"] for item in listed}

    def body(self, key: str) -> tuple[str, str]:
        """The object's content type and text."""
        found = self.s3.get_object(Bucket=self.bucket, Key=key)
        return found["ContentType"], found["Body"].read().decode()


@pytest.fixture(scope="module")
def published(moto_session: Moto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    root = tmp_path_factory.mktemp("s3")
    s3 = moto_session.client("s3")
    # Of this fixture alone: moto_server serves the whole session.
    bucket = f"example-docs-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": MOTO_REGION})
    repo = GitRepo.started(root / "repo")
    repo.branch("release/1.0")
    site = {
        "VERSION": "1.0.0\n",
        "site/guide.html": "<p>guide one</p>\n",
        "site/style.css": "p {}\n",
        "site/old.txt": "old\n",
        "site/sub/page.html": "<p>page</p>\n",
        f"site/{HOSTILE}": "hostile\n",
    }
    for name, text in site.items():
        (repo.work / name).parent.mkdir(parents=True, exist_ok=True)
        (repo.work / name).write_text(text)
    os.symlink("guide.html", repo.work / "site" / "alias.html")  # never followed
    repo.git("add", ".")
    repo.git("commit", "--quiet", "-m", "docs")
    settings = local_settings(
        repo.url,
        [builder(bucket)],
        s3={
            "region": MOTO_REGION,
            "endpoint_url": moto_session.url,
            "access_key_id": "s3-test-key-id",
            "secret_access_key": "s3-test-secret",
        },
    )
    cluster = LocalCluster(root / "master", copy.deepcopy(settings))
    cluster.start()
    try:
        master = Master(cluster)
        master.wait_workers(1)
        repo.push()
        master.wait_for_builds(1)
        published = Published(master, s3, bucket, moto_session, set())
        published.after_first = published.objects()
        repo.git("rm", "--quiet", "site/old.txt")
        repo.commit({"site/guide.html": "<p>guide two</p>\n"}, "old goes")
        repo.push()
        repo.push_commit("feature", {"VERSION": "9.9.9\n"}, start="release/1.0")
        master.wait_for_builds(3)
        master.wait_idle()
        yield published
    finally:
        cluster.stop()


def builds_of(master: Master, branch: str) -> list[dict[str, Any]]:
    return [
        build
        for build in master.builds(complete="true", order="buildid")
        if master.properties(build["buildid"])["branch"] == branch
    ]


def test_release_build_publishes_docs_with_types_and_index(published: Published) -> None:
    first = {
        "docs/1.0.0/guide.html",
        "docs/1.0.0/style.css",
        "docs/1.0.0/old.txt",
        "docs/1.0.0/sub/page.html",
        f"docs/1.0.0/{HOSTILE}",
        "docs/1.0.0/index.html",
    }
    assert first <= published.after_first
    assert {key.replace("1.0.0", "latest") for key in first} <= published.after_first
    assert not any(key.endswith("alias.html") for key in published.after_first)

    assert published.body("docs/1.0.0/style.css")[0] == "text/css; charset=utf-8"
    assert published.body("docs/1.0.0/sub/page.html")[0] == "text/html; charset=utf-8"
    kind, index = published.body("docs/latest/index.html")
    assert kind == "text/html; charset=utf-8"
    assert "a&lt;b&gt;&amp;&quot;x.txt" in index
    assert "<b>" not in index
    assert 'href="sub/page.html"' in index


def test_next_publish_deletes_what_left_and_moves_latest(published: Published) -> None:
    now = published.objects()
    assert "docs/1.0.0/old.txt" not in now
    assert "docs/latest/old.txt" not in now
    assert published.body("docs/latest/guide.html")[1] == "<p>guide two</p>\n"
    assert published.body("docs/1.0.0/guide.html")[1] == "<p>guide two</p>\n"
    assert not any(key.startswith("docs/9.9.9/") for key in now)

    master = published.master
    _, second = builds_of(master, "release/1.0")
    assert second["results"] == SUCCESS
    steps = {step["name"]: step for step in master.steps(second["buildid"])}
    links = {link["name"]: link["url"] for link in steps["docs to S3"]["urls"]}
    url = f"{published.moto.url}/{published.bucket}/docs/latest/index.html"
    assert links == {"docs/1.0.0": url.replace("latest", "1.0.0"), "docs/latest": url}
    assert steps["docs to S3"]["state_string"] == (
        f"docs in s3://{published.bucket}/docs/1.0.0 and docs/latest"
    )


def test_feature_branch_uploads_artifacts_and_skips_publish(published: Published) -> None:
    master = published.master
    [feature] = builds_of(master, "feature")
    assert feature["results"] == SUCCESS
    steps = {step["name"]: step for step in master.steps(feature["buildid"])}
    for name in ("docs", "docs to S3"):
        assert steps[name]["results"] == SKIPPED
        assert steps[name]["state_string"] == "only on release (skipped)"
    assert steps["artifacts to S3"]["results"] == SUCCESS
    prefix = f"builds/feature/{feature['number']}/"
    assert f"{prefix}style.css" in published.objects()
    assert published.body(f"{prefix}index.html")[0] == "text/html; charset=utf-8"
