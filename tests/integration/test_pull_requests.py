"""Pull requests from GitHub's ``pull_request`` deliveries, built by a real master.

Each delivery is shaped and signed as GitHub documents it; the base repository is a real
git repository carrying ``refs/pull/<n>/head``, as GitHub's do; the GitHub API is a
recording server that answers commit lookups and takes statuses. Pull requests from forks
build on an untrusted pool of EC2 instances on moto_server, one per build, each played by
a real worker (``tests/instances.py``); everything else on a local worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from config.github.pull_requests import APPROVAL_PENDING
from config.github.repositories import repository_key
from tests.conftest import StartMaster, local_settings, with_untrusted_pool
from tests.harness import CANCELLED, SUCCESS, GitRepo, Master, Moto, wait_for
from tests.integration.test_github_status import statuses, wait_final_state
from tests.integration.test_merge import steps_by_name
from tests.integration.test_webhook import SECRET, answer, push_payload, sign
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

CHECKS = [{"name": "checks", "steps": [{"kind": "run", "name": "show", "command": ["ls"]}]}]
# What a labeled delivery carries when the approve label (by default "ci-approved") is added.
APPROVED: dict[str, Any] = {"label": {"name": "ci-approved"}}
SLOW = [{"name": "slow", "steps": [{"kind": "run", "name": "wait", "command": ["sleep", "30"]}]}]


@pytest.fixture
def github_api() -> Iterator[RecordingServer]:
    with RecordingServer(status=201) as server:
        yield server


def settings(
    repo: GitRepo,
    api: RecordingServer,
    builders: Any = CHECKS,
    forks: dict[str, Any] | None = None,
    **extra: Any,
) -> Any:
    """A master taking deliveries from ``api``'s GitHub; with ``forks`` (the fixture),
    pull requests from forks build on its untrusted pool."""
    github = {"token": "gh-token", "webhook_secret": SECRET, "api_url": api.url}
    github.update(extra.pop("github", {}))
    document = local_settings(
        repo.url, builders, changes={"kind": "github"}, github=github, **extra
    )
    return with_untrusted_pool(document, forks) if forks is not None else document


def pull_request(
    repo: GitRepo,
    action: str,
    number: int,
    sha: str,
    *,
    head_ref: str = "feature",
    base_ref: str = "master",
    fork: bool = True,
    association: str = "CONTRIBUTOR",
    draft: bool = False,
    updated_at: str = "2026-01-02T03:04:05Z",
    **extra: Any,
) -> bytes:
    """A ``pull_request`` delivery as GitHub documents its payload."""
    base_repo = repository_key(repo.url)
    head_repo = "outsider/origin" if fork else base_repo
    payload = {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "html_url": f"https://github.example/{base_repo}/pull/{number}",
            "title": f"Change number {number}",
            "draft": draft,
            "user": {"login": "outsider" if fork else "member"},
            "author_association": association,
            "head": {"ref": head_ref, "sha": sha, "repo": {"full_name": head_repo}},
            "base": {"ref": base_ref, "repo": {"full_name": base_repo}},
            "updated_at": updated_at,
        },
        "repository": {"full_name": base_repo, "html_url": repo.url},
        "sender": {"login": "outsider" if fork else "member"},
        **extra,
    }
    return json.dumps(payload).encode()


def deliver(master: Master, body: bytes, event: str = "pull_request") -> str:
    status, text = answer(master, body, event=event, signature=sign(body))
    assert status == 200, (status, text)
    return text


def fork_commit(repo: GitRepo, number: int, files: dict[str, str], message: str = "fix") -> str:
    """A commit of a fork, as GitHub keeps it in the base repository: refs/pull/<n>/head."""
    repo.branch(f"fork-{number}", repo.main)
    sha = repo.commit(files, message)
    repo.git("push", "--quiet", "--force", "origin", f"HEAD:refs/pull/{number}/head")
    return sha


def commit_known(api: RecordingServer, repo: GitRepo, sha: str, message: str) -> None:
    """The GitHub API answers for the commit, as ``GET /repos/{owner}/{repo}/commits/{sha}``."""
    path = f"/repos/{repository_key(repo.url)}/commits/{sha}"
    api.answers[path] = {"sha": sha, "commit": {"message": message}}


def settle() -> None:
    time.sleep(3)  # past the tree-stable timer: a build wrongly scheduled would show


def test_fork_pull_request_waits_for_approval_and_builds_merged_once_labeled(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer, forks: dict[str, Any]
) -> None:
    with RecordingServer(status=200) as zulip:
        zulip_settings = {"site": zulip.url, "bot_email": "bot@x", "api_key": "k", "stream": "ci"}
        master = start_master(settings(repo, github_api, forks=forks, zulip=zulip_settings))
        first = fork_commit(repo, 3, {"fix.txt": "one\n"})
        commit_known(github_api, repo, first, "fix")

        said = deliver(master, pull_request(repo, "opened", 3, first))
        assert "waits for an admin's approval" in said
        [waiting] = statuses(github_api, "buildbot/checks")
        assert waiting.path == f"/repos/repo/origin/statuses/{first}"
        assert (waiting.body["state"], waiting.body["description"]) == (
            "pending",
            APPROVAL_PENDING,
        )
        assert waiting.header("Authorization") == "token gh-token"

        # A new push to it waits again; the label approves its head, not the older commit.
        second = fork_commit(repo, 3, {"fix.txt": "two\n"})
        commit_known(github_api, repo, second, "fix again")
        assert "waits" in deliver(master, pull_request(repo, "synchronize", 3, second))
        label: dict[str, Any] = {"label": {"name": "something-else"}}
        assert "nothing to build" in deliver(
            master, pull_request(repo, "labeled", 3, second, **label)
        )
        settle()
        assert master.builds() == []

        # A label seen on the older commit approves nothing: the newer one waits.
        said = deliver(master, pull_request(repo, "labeled", 3, first, **APPROVED))
        assert f"{first[:12]} does not wait for approval" in said
        said = deliver(master, pull_request(repo, "labeled", 3, second, **APPROVED))
        assert "approved by label" in said
        [build] = master.wait_for_builds(1)
        assert build["results"] == SUCCESS
        props = master.properties(build["buildid"])
        # On the untrusted pool's worker, with who approved which commit.
        assert props["pool"] == "forks" and props["untrusted"] is True
        assert (props["approved_by"], props["approved_revision"]) == ("outsider", second)
        assert props["got_revision"] == second
        assert props["branch"] == "refs/pull/3/head"
        assert (props["pull_request"], props["pull_request_head"]) == (3, second)
        assert props["pull_request_base"] == "master"
        assert props["pull_request_url"].endswith("/pull/3")
        assert "merged_revision" in props
        merge = steps_by_name(master, build)["merge-forward"]
        assert merge["state_string"] == "merged master"
        assert merge["urls"][0]["url"] == props["pull_request_url"]

        final = wait_final_state(github_api, "buildbot/checks")
        assert final[-1].path == f"/repos/repo/origin/statuses/{second}"
        assert final[-1].body["state"] == "success"

        def summary() -> dict[str, str] | None:
            return next((r.form for r in zulip.recorded() if r.path == "/api/v1/messages"), None)

        message = wait_for("the Zulip summary", summary)
        assert message["topic"] == "demo : PR #3"
        assert "Pull request [#3 Change number 3](https://github.example/" in message["content"]
        # Approving an approved commit again builds nothing more; the same delivery sent
        # again is told as such.
        again = pull_request(
            repo, "labeled", 3, second, updated_at="2026-01-02T04:00:00Z", **APPROVED
        )
        assert "does not wait for approval" in deliver(master, again)
        assert "already received" in deliver(master, again)


def test_pull_request_from_a_branch_builds_into_its_base_with_its_pushes(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer
) -> None:
    """A branch of the base repository against release/1.2: merged into release/1.2, by
    the PR's opening and by every push to the branch afterwards; after closing, into master."""
    master = start_master(settings(repo, github_api))
    repo.push_commit("release/1.2", {"release.txt": "1.2\n"})
    sha = repo.push_commit("feature", {"feature.txt": "f\n"}, start="release/1.2")
    commit_known(github_api, repo, sha, "feature")
    own: dict[str, Any] = {"fork": False, "association": "MEMBER", "base_ref": "release/1.2"}

    said = deliver(master, pull_request(repo, "opened", 5, sha, **own))
    assert "building" in said
    [opened] = master.wait_for_builds(1)
    assert steps_by_name(master, opened)["merge-forward"]["state_string"] == "merged release/1.2"
    assert master.properties(opened["buildid"])["branch"] == "feature"

    newer = repo.push_commit("feature", {"feature.txt": "g\n"})
    assert "built by the push" in deliver(
        master, pull_request(repo, "synchronize", 5, newer, **own)
    )
    said = deliver(master, push_payload(repo, "refs/heads/feature", newer), event="push")
    assert "1 of 1 pushed commits to build" in said
    builds = master.wait_for_builds(2)
    pushed = builds[-1]
    props = master.properties(pushed["buildid"])
    assert (props["got_revision"], props["pull_request"]) == (newer, 5)
    assert steps_by_name(master, pushed)["merge-forward"]["state_string"] == "merged release/1.2"

    edited: dict[str, Any] = {
        **own,
        "base_ref": "master",
        "changes": {"base": {"ref": {"from": "release/1.2"}}},
    }
    deliver(master, pull_request(repo, "edited", 5, newer, **edited))
    rebased = master.wait_for_builds(3)[-1]
    assert steps_by_name(master, rebased)["merge-forward"]["state_string"] == "merged master"
    # A title edit changes nothing that is built.
    title: dict[str, Any] = {**own, "changes": {"title": {"from": "old"}}}
    assert "nothing to build" in deliver(master, pull_request(repo, "edited", 5, newer, **title))

    assert "closed" in deliver(master, pull_request(repo, "closed", 5, newer, **edited))
    last = repo.push_commit("feature", {"feature.txt": "h\n"})
    deliver(master, push_payload(repo, "refs/heads/feature", last), event="push")
    after = master.wait_for_builds(4)[-1]
    assert "pull_request" not in master.properties(after["buildid"])
    assert len(master.builds()) == 4


def test_pull_request_from_a_branch_against_its_push_target_builds_once(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer
) -> None:
    """The push built the branch merged into master already: opening a PR for it into
    master builds nothing more, so one build owns each status context."""
    master = start_master(settings(repo, github_api))
    sha = repo.push_commit("feature", {"feature.txt": "f\n"})
    deliver(master, push_payload(repo, "refs/heads/feature", sha), event="push")
    master.wait_for_builds(1)
    own: dict[str, Any] = {"fork": False, "association": "MEMBER"}
    assert "built it already" in deliver(master, pull_request(repo, "opened", 6, sha, **own))
    settle()
    assert len(master.builds()) == 1


def test_actions_skips_drafts_and_untrusted_members(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer, forks: dict[str, Any]
) -> None:
    rules: dict[str, Any] = {"drafts": False, "forks_need_approval": False}
    master = start_master(settings(repo, github_api, forks=forks, github={"pull_requests": rules}))
    sha = fork_commit(repo, 7, {"x.txt": "x\n"})
    commit_known(github_api, repo, sha, "x")
    trusted: dict[str, Any] = {"association": "MEMBER"}

    assert "nothing to build" in deliver(master, pull_request(repo, "assigned", 7, sha, **trusted))
    said = deliver(master, pull_request(repo, "opened", 7, sha, draft=True, **trusted))
    assert "is a draft" in said
    # With forks trusted, only the author's association decides.
    assert "waits" in deliver(master, pull_request(repo, "opened", 7, sha, association="NONE"))

    skipped = fork_commit(repo, 8, {"y.txt": "y\n"})
    commit_known(github_api, repo, skipped, "docs only [ci skip]")
    said = deliver(master, pull_request(repo, "opened", 8, skipped, **trusted))
    assert "asks to skip CI" in said
    pushed = repo.push_commit("quiet", {"z.txt": "z\n"}, message="typo [skip ci]")
    body = push_payload(repo, "refs/heads/quiet", pushed, message="typo [skip ci]")
    assert "0 of 0 pushed commits" in deliver(master, body, event="push")
    settle()
    assert master.builds() == []

    said = deliver(master, pull_request(repo, "ready_for_review", 7, sha, **trusted))
    assert "building" in said
    [build] = master.wait_for_builds(1)
    assert master.properties(build["buildid"])["got_revision"] == sha


def waiting_choices(master: Master) -> list[str]:
    """What the Approve form lists, as the web UI reads it when it opens the form."""
    [form] = master.get("forceschedulers/demo-approve")["forceschedulers"]
    [field] = [f for f in form["all_fields"] if f["name"] == "pull_request"]
    return list(field["choices"])


def test_an_approval_in_the_web_ui_builds_the_commit_it_names_and_is_for_admins(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer, forks: dict[str, Any]
) -> None:
    master = start_master(settings(repo, github_api, forks=forks))
    seen = fork_commit(repo, 9, {"x.txt": "x\n"})
    commit_known(github_api, repo, seen, "x")
    assert "waits" in deliver(master, pull_request(repo, "opened", 9, seen))
    # The form lists the waiting pull request with the commit that waits.
    shown = f"#9 at {seen}: Change number 9 (by outsider)"
    wait_for("the form to list it", lambda: waiting_choices(master) == [shown])

    approve = "forceschedulers/demo-approve"
    status, _ = master.session("reader", "reader-pw").control(
        approve, "force", pull_request=shown, builderNames=["checks"]
    )
    assert status == 403
    # A push after the admin looked: the approval of what they saw builds nothing.
    pushed = fork_commit(repo, 9, {"x.txt": "changed after the look\n"})
    commit_known(github_api, repo, pushed, "x")
    assert "waits" in deliver(master, pull_request(repo, "synchronize", 9, pushed))
    status, said = master.session("admin", "admin-pw").control(
        approve, "force", pull_request=shown, builderNames=["checks"]
    )
    assert f"does not wait with {seen[:12]} any more" in json.dumps(said)
    settle()
    assert master.builds() == []

    [now] = wait_for(
        "the form to list the new commit",
        lambda: waiting_choices(master)[:1] if pushed in str(waiting_choices(master)) else None,
    )
    status, said = master.session("admin", "admin-pw").control(
        approve, "force", pull_request=now, builderNames=["checks"]
    )
    assert status == 200, said
    [build] = master.wait_for_builds(1)
    props = master.properties(build["buildid"])
    assert (props["got_revision"], props["approved_by"]) == (pushed, "admin")
    assert props["approved_revision"] == pushed
    assert waiting_choices(master) == []
    log = (master.cluster.master_dir / "twistd.log").read_text()
    assert f"admin approved pull request #9 of demo at {pushed}" in log
    settle()
    assert len(master.builds()) == 1  # the approval's own build, not the push scheduler's too


def test_closing_cancels_and_newer_commits_supersede_except_on_master(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer, forks: dict[str, Any]
) -> None:
    rules: dict[str, Any] = {"forks_need_approval": False}
    document = settings(repo, github_api, SLOW, forks=forks, github={"pull_requests": rules})
    document["workers"][0]["count"] = 2
    master = start_master(document)

    def requested(count: int) -> None:
        wait_for(
            f"{count} build requests",
            lambda: len(master.get("buildrequests")["buildrequests"]) >= count,
        )

    def final_for(sha: str) -> Any:
        done = [
            r.body
            for r in statuses(github_api, "buildbot/slow")
            if r.path.endswith(sha) and r.body["state"] != "pending"
        ]
        return done[-1] if done else None

    old = repo.push_commit("feature", {"a.txt": "1\n"})
    deliver(master, push_payload(repo, "refs/heads/feature", old), event="push")
    wait_for("the first build running", lambda: master.builds() or None)
    new = repo.push_commit("feature", {"a.txt": "2\n"})
    deliver(master, push_payload(repo, "refs/heads/feature", new), event="push")
    [superseded] = master.wait_for_builds(1)
    assert superseded["results"] == CANCELLED
    assert master.properties(superseded["buildid"])["got_revision"] == old
    said = wait_for("the superseded build's status", lambda: final_for(old))
    assert (said["state"], said["description"]) == ("error", f"Superseded by {new[:12]}.")

    # Closing a pull request cancels its running build, and only that.
    pr = fork_commit(repo, 11, {"b.txt": "b\n"})
    commit_known(github_api, repo, pr, "b")
    deliver(master, pull_request(repo, "opened", 11, pr, association="MEMBER"))
    wait_for("the PR's build running", lambda: len(master.builds()) == 3 or None)
    said = deliver(master, pull_request(repo, "closed", 11, pr, association="MEMBER"))
    assert "1 build requests cancelled" in said
    wait_for("the closed PR's status", lambda: final_for(pr))
    assert final_for(pr)["description"] == "Build cancelled."

    # master keeps every commit's result; so do merge-queue branches.
    count = len(master.get("buildrequests")["buildrequests"])
    for branch in ("master", "gh-readonly-queue/master/pr-4-abc"):
        for content in ("one", "two"):
            sha = repo.push_commit(branch, {"c.txt": branch + content}, start="master")
            deliver(master, push_payload(repo, f"refs/heads/{branch}", sha), event="push")
            count += 1
            requested(count)
    settle()
    cancelled = [
        r for r in master.get("buildrequests")["buildrequests"] if r["results"] == CANCELLED
    ]
    assert len(cancelled) == 2, cancelled  # the superseded branch build and the closed PR's
    assert all(b["results"] in (None, SUCCESS, CANCELLED) for b in master.builds())


def test_an_approved_fork_build_sees_no_secret_in_its_environment(
    repo: GitRepo,
    start_master: StartMaster,
    github_api: RecordingServer,
    forks: dict[str, Any],
    moto: Moto,
) -> None:
    """What a step of untrusted code can print: none of the master's secrets or settings;
    and what it leaves goes with its instance, ended after the build."""
    dump = [{"name": "dump", "steps": [{"kind": "run", "name": "env", "command": ["env"]}]}]
    document = settings(repo, github_api, dump, forks=forks)
    master = start_master(document)
    sha = fork_commit(repo, 13, {"x.txt": "x\n"})
    commit_known(github_api, repo, sha, "x")
    deliver(master, pull_request(repo, "opened", 13, sha))
    deliver(master, pull_request(repo, "labeled", 13, sha, **APPROVED))

    [build] = master.wait_for_builds(1)
    environment = master.log(build["buildid"], "env")
    assert "PATH=" in environment  # the step did print its environment
    secrets = [
        document["github"]["token"],
        document["github"]["webhook_secret"],
        document["workers"][0]["password"],
        document["aws"]["secret_access_key"],
        "admin-pw",
    ]
    assert [s for s in secrets if s in environment] == []
    assert "BUILDBOT_CONFIG" not in environment
    ec2 = moto.client("ec2")
    wait_for(
        "the fork build's instance to end",
        lambda: all(
            i["State"]["Name"] == "terminated"
            for r in ec2.describe_instances()["Reservations"]
            for i in r["Instances"]
        ),
    )


def test_a_build_superseded_by_its_own_commit_leaves_the_status_to_the_new_build(
    repo: GitRepo, start_master: StartMaster, github_api: RecordingServer
) -> None:
    """A pull request into release/1.2 opened while its branch's push build (into master)
    runs: the push build is cancelled and posts nothing; the status is the PR build's."""
    document = settings(repo, github_api, SLOW)
    document["workers"]["count"] = 2
    master = start_master(document)
    repo.push_commit("release/1.2", {"release.txt": "1.2\n"})
    sha = repo.push_commit("feature", {"feature.txt": "f\n"}, start="release/1.2")
    commit_known(github_api, repo, sha, "feature")
    deliver(master, push_payload(repo, "refs/heads/feature", sha), event="push")
    wait_for("the push build running", lambda: master.builds() or None)

    own: dict[str, Any] = {"fork": False, "association": "MEMBER", "base_ref": "release/1.2"}
    assert "building" in deliver(master, pull_request(repo, "opened", 14, sha, **own))
    [cancelled] = master.wait_for_builds(1)
    assert cancelled["results"] == CANCELLED
    wait_for("the pull request's build running", lambda: len(master.builds()) == 2 or None)
    settle()
    sent = [(r.body["state"], r.body["description"]) for r in statuses(github_api, "buildbot/slow")]
    assert sent and {state for state, _ in sent} == {"pending"}, sent
    merge = steps_by_name(master, master.builds()[-1])["merge-forward"]
    assert merge["state_string"] == "merged release/1.2"
