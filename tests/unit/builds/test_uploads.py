"""Where uploads are published, and what the janitor's pruning keeps."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from buildbot.process.properties import Properties

from config.builds.janitor import prune, prune_staged
from config.builds.uploads import build_parts, publish


def props(branch: str, project: str = "flocker") -> Properties:
    found = Properties()
    for name, value in {
        "branch": branch,
        "project": project,
        "buildername": "docs",
        "buildnumber": 12,
    }.items():
        found.setProperty(name, value, "test")
    return found


@pytest.mark.parametrize(
    ("branch", "parts"),
    [
        ("master", ["flocker", "master", "docs-12"]),
        ("feature/a/b", ["flocker", "feature", "a", "b", "docs-12"]),
        ("refs/pull/7/head", ["flocker", "refs", "pull", "7", "head", "docs-12"]),
        # A forced branch is free text: nothing climbs out or hides the latest links.
        ("../../etc", ["flocker", "_", "_", "etc", "docs-12"]),
        ("x//latest", ["flocker", "x", "_", "_", "docs-12"]),
    ],
)
def test_build_parts(branch: str, parts: list[str]) -> None:
    assert build_parts(props(branch)) == parts


def test_prune_deletes_old_builds_and_their_latest_links(tmp_path: Path) -> None:
    branch = tmp_path / "flocker" / "feature" / "x"
    for number in (1, 2):
        (branch / f"docs-{number}" / "html").mkdir(parents=True)
        (branch / f"docs-{number}" / "html" / "index.html").write_text(f"{number}\n")
        publish(branch / f"docs-{number}" / "html")
    other = tmp_path / "flocker" / "old-branch" / "docs-3" / "html"
    other.mkdir(parents=True)
    publish(other)
    long_ago = time.time() - 30 * 86400
    for marker in (branch / "docs-1" / ".published", other.parent / ".published"):
        os.utime(marker, (long_ago, long_ago))

    assert prune(tmp_path, time.time() - 14 * 86400) == 2

    assert (branch / "latest" / "html" / "index.html").read_text() == "2\n"
    assert not (branch / "docs-1").exists()
    assert not (tmp_path / "flocker" / "old-branch").exists()  # links and empty dirs too
    assert prune(tmp_path / "missing", time.time()) == 0


def test_files_staged_for_s3_and_never_put_are_pruned_once_old(tmp_path: Path) -> None:
    staged = tmp_path / "s3-staging"
    old = staged / "proj" / "feature" / "docs-3" / "html"
    old.mkdir(parents=True)
    (old / "index.html").write_text("x")
    (old / "link").symlink_to("/etc/passwd")
    os.utime(old / "index.html", (0, 0))  # an upload keeps the files' own times
    # A day's cutoff keeps what came just now, however old its times say it is.
    assert prune_staged(staged, time.time() - 86400) == 0
    assert (old / "index.html").exists()
    assert prune_staged(staged, time.time() + 1) == 2
    assert list(staged.iterdir()) == [] and Path("/etc/passwd").exists()
    assert prune_staged(tmp_path / "missing", time.time()) == 0
