"""Webhook abuse: hostile deliveries to /change_hook/github of a real master.

Every unsigned or wrongly signed delivery is refused and records no change; signed ones
with nonsense in them are refused or harmless; and branch names full of shell syntax,
pushed for real and delivered signed, build like any other branch while the commands they
spell never run (every step passes argv lists to the worker, never a shell string).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.conftest import StartMaster, Summary, local_settings
from tests.harness import SUCCESS, GitRepo, Master
from tests.integration.test_webhook import SECRET, deliver, push_payload, sign

pytestmark = pytest.mark.slow

CHECKS = [{"name": "checks", "steps": [{"kind": "run", "name": "show", "command": ["ls"]}]}]


def hostile_branches(tmp_path: Path) -> dict[str, Path]:
    """Branch names that run ``touch <file>`` if a shell ever sees them unquoted."""
    names = {}
    for n, template in enumerate(
        [
            "x$(touch${{IFS}}{f})",
            "`touch${{IFS}}{f}`",
            ";touch${{IFS}}{f};",
            "a|touch${{IFS}}{f}",
            "a&&touch${{IFS}}{f}",
            "'$(touch${{IFS}}{f})'",
            '"$(touch${{IFS}}{f})"',
            "a%0Atouch${{IFS}}{f}",
        ]
    ):
        target = tmp_path / f"pwned-{n}-{secrets.token_hex(4)}"
        names[template.format(f=target)] = target
    return names


@pytest.fixture
def master(repo: GitRepo, start_master: StartMaster) -> Master:
    github = {"token": "unused", "webhook_secret": SECRET, "report_status": False}
    settings = local_settings(
        repo.url, CHECKS, changes={"kind": "github"}, github=github, workers={"count": 2}
    )
    return start_master(settings)


def test_hostile_deliveries_are_refused_or_harmless(
    repo: GitRepo, master: Master, tmp_path: Path, summary: Summary
) -> None:
    sha = repo.commit({"x.txt": "x\n"})
    repo.push()
    statuses: dict[str, int] = {}  # what each hostile delivery got

    def unsigned_body(n: int) -> bytes:
        return push_payload(repo, f"refs/heads/unsigned-{n}", sha)

    # Unsigned, wrongly signed, and signed for another body.
    for n in range(15):
        statuses[f"unsigned {n}"] = deliver(master, unsigned_body(n))
    for n in range(15):
        body = unsigned_body(100 + n)
        statuses[f"wrong secret {n}"] = deliver(master, body, signature=sign(body, f"guess{n}"))
    original = unsigned_body(200)
    for n in range(25):
        replayed = bytearray(original)
        position = (n * 37) % len(replayed)
        replayed[position] ^= 0x01  # one changed bit, the old signature
        statuses[f"replayed {n}"] = deliver(master, bytes(replayed), signature=sign(original))
    for n, header in enumerate(
        ["", "sha256=", "sha256=zz", "sha1=" + "0" * 40, "md5=00", "sha256=" + "0" * 64,
         "sha256=" + sign(original)[7:].upper(), "sha256 " + sign(original)[7:], "x" * 8000]
    ):  # fmt: skip
        statuses[f"bad header {n}"] = deliver(master, original, signature=header)
    big = json.dumps({**json.loads(original), "padding": "p" * 5_000_000}).encode()
    statuses["oversized unsigned"] = deliver(master, big)
    statuses["oversized wrongly signed"] = deliver(master, big, signature=sign(big, "guess"))

    # Signed, but not something to build.
    for n, content_type in enumerate(
        ["text/plain", "application/xml", "multipart/form-data", "", "application/json; x"]
    ):
        body = unsigned_body(300 + n)
        statuses[f"content type {n}"] = deliver(
            master, body, signature=sign(body), content_type=content_type
        )
    for n, text in enumerate(
        ['{"ref": ', "null", "[]", '"refs/heads/x"', "{}", "\xff\xfe", '{"ref": 1}',
         '{"ref": "refs/heads/a", "repository": 3}', "1e999999", '{"a":' * 5000]
    ):  # fmt: skip
        body = text.encode("utf-8", "surrogateescape")
        statuses[f"invalid JSON {n}"] = deliver(master, body, signature=sign(body))
    for n, event in enumerate(
        ["issues", "fork", "pull_request", "release", "../../push", "PUSH", "pushes", "pushx",
         "star", "delete"]
    ):  # fmt: skip
        body = unsigned_body(400 + n)
        statuses[f"event {event!r}"] = deliver(master, body, event=event, signature=sign(body))
    big_signed = json.dumps({"ref": "refs/heads/big", "padding": "p" * 5_000_000}).encode()
    statuses["oversized signed"] = deliver(master, big_signed, signature=sign(big_signed))

    # Signed pushes of real branches with unicode and shell syntax in their names.
    pwned = hostile_branches(tmp_path)
    branches = [*pwned, "ünïcødé/分支", "emoji-🚀"]
    for branch in branches:
        repo.branch(branch, "master")
        branch_sha = repo.commit({"branch.txt": branch + "\n"})
        repo.push(branch)
        body = push_payload(repo, f"refs/heads/{branch}", branch_sha)
        statuses[f"branch {branch!r}"] = deliver(master, body, signature=sign(body))

    master.wait_for_builds(len(branches), timeout=180)
    master.wait_idle(timeout=180)
    builds = master.builds()
    changes = master.get("changes")["changes"]
    built = {master.properties(b["buildid"])["branch"]: b["results"] for b in builds}
    hostile = [k for k in statuses if not k.startswith("branch ")]
    refused = [k for k in hostile if 400 <= statuses[k] < 500]
    lost = (
        [k for k, status in statuses.items() if status >= 500]
        + [c["branch"] for c in changes if c["branch"] not in branches]
        + [str(path) for path in pwned.values() if path.exists()]
    )
    summary(
        "webhook abuse",
        tries=len(statuses),
        refused=len(refused),
        lost=len(lost),
    )

    assert len(statuses) >= 100
    assert lost == []
    unsigned = [
        k for k in hostile if not k.startswith(("content", "invalid", "event", "oversized s"))
    ]
    assert set(refused) >= set(unsigned), {k: statuses[k] for k in unsigned}
    assert sorted(c["branch"] for c in changes) == sorted(branches)
    assert built == dict.fromkeys(branches, SUCCESS)
