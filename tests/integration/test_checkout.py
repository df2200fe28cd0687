"""``config/builds/scripts/checkout.sh`` on real repositories, run as a worker runs it (script on stdin).

Every build in the other integration tests starts with it too; here are the trees a
build rarely meets: warm with leftovers, missing, broken, and inside another clone.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from config.builds.checkout import CHECKOUT_SCRIPT
from config.builds.scripts import printed
from tests.harness import GIT_ENV, GitRepo


def checkout(workdir: Path, repo: GitRepo, branch: str, revision: str = "") -> tuple[int, str]:
    """Run the script in ``workdir`` (made if missing, as the worker does); its exit
    status and the commit it reports."""
    workdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["sh", "-s", repo.url, branch, revision],
        input=CHECKOUT_SCRIPT,
        cwd=workdir,
        env={**GIT_ENV, "PATH": "/usr/local/bin:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    return done.returncode, printed(done.stdout).get("revision", [""])[0]


def git(workdir: Path, *args: str) -> str:
    return GitRepo._git(workdir, *args)


def test_cold_tree_is_cloned_at_the_pushed_commit_on_its_branch(
    repo: GitRepo, tmp_path: Path
) -> None:
    sha = repo.push_commit("feature", {"a.txt": "a\n"})
    build = tmp_path / "build"

    assert checkout(build, repo, "feature", sha) == (0, sha)
    assert git(build, "rev-parse", "--abbrev-ref", "HEAD") == "feature"
    assert (build / "a.txt").read_text() == "a\n"


def test_warm_tree_loses_every_leftover_and_moves_to_the_new_commit(
    repo: GitRepo, tmp_path: Path
) -> None:
    first = repo.push_commit("feature", {".gitignore": "*.pyc\n", "a.txt": "a\n"})
    build = tmp_path / "build"
    checkout(build, repo, "feature", first)
    (build / "a.txt").write_text("edited by the last build\n")
    (build / "untracked.txt").write_text("x\n")
    (build / "ignored.pyc").write_text("x\n")
    second = repo.push_commit("other", {"b.txt": "b\n"})

    assert checkout(build, repo, "other", second) == (0, second)
    assert sorted(p.name for p in build.iterdir()) == [
        ".git",
        ".gitignore",
        "README",
        "a.txt",
        "b.txt",
    ]
    assert (build / "a.txt").read_text() == "a\n"
    assert git(build, "rev-parse", "--abbrev-ref", "HEAD") == "other"


def test_locks_of_a_git_killed_mid_way_do_not_fail_the_next_build(
    repo: GitRepo, tmp_path: Path
) -> None:
    first = repo.push_commit("feature", {"a.txt": "a\n"})
    build = tmp_path / "build"
    checkout(build, repo, "feature", first)
    # What a checkout or merge killed by a cancelled build leaves behind.
    for lock in ("index.lock", "HEAD.lock", "refs/heads/feature.lock"):
        (build / ".git" / lock).write_text("")
    second = repo.push_commit("other", {"b.txt": "b\n"})

    assert checkout(build, repo, "other", second) == (0, second)
    assert git(build, "rev-parse", "--abbrev-ref", "HEAD") == "other"
    assert not list((build / ".git").rglob("*.lock"))


def test_broken_clone_is_emptied_and_cloned_again(repo: GitRepo, tmp_path: Path) -> None:
    sha = repo.push_commit("feature", {"a.txt": "a\n"})
    build = tmp_path / "build"
    (build / ".git").mkdir(parents=True)  # a clone that never finished: no repository
    (build / "stale.txt").write_text("x\n")

    assert checkout(build, repo, "feature", sha) == (0, sha)
    assert not (build / "stale.txt").exists()


def test_tree_inside_another_clone_is_cloned_and_leaves_the_outer_one_alone(
    repo: GitRepo, tmp_path: Path
) -> None:
    sha = repo.push_commit("feature", {"a.txt": "a\n"})
    outer = GitRepo(tmp_path / "outer")
    outer.commit({"keep.txt": "mine\n"}, "outer work")
    (outer.work / "untracked.txt").write_text("mine too\n")
    build = outer.work / "workers" / "build"

    assert checkout(build, repo, "feature", sha) == (0, sha)
    assert (outer.work / "untracked.txt").exists()
    assert outer.git("log", "--format=%s") == "outer work"


def test_commit_not_in_the_repository_fails_with_its_status(repo: GitRepo, tmp_path: Path) -> None:
    repo.push_commit("feature", {"a.txt": "a\n"})

    assert checkout(tmp_path / "build", repo, "feature", "0" * 40) == (5, "")
    assert checkout(tmp_path / "build", repo, "no-such-branch") == (4, "")
