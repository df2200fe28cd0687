"""GitHub's ``check_run`` and ``check_suite`` deliveries: re-runs, and the Approve button.

- ``check_run`` ``rerequested`` (GitHub's "Re-run" on one check): the newest build of that
  builder for that commit builds again;
- ``check_suite`` ``rerequested`` ("Re-run all checks"): every builder's newest build of
  that commit builds again;
- ``check_run`` ``requested_action`` ``approve`` (the Approve button of a waiting pull
  request's check run): from an admin (:mod:`config.github.admins`), the commit that check
  run shows builds, as an approval in the web UI would build it; from anyone else, nothing.

A re-run is Buildbot's rebuild of a build that ran: the same source stamps and
properties, so an untrusted build stays untrusted and runs on the untrusted pools only
(:mod:`config.builds.trust`), and a commit that waits for approval, never built, is not
built by a re-run.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from buildbot.data import resultspec
from twisted.internet import defer
from twisted.python import log

from config.github.admins import Admins
from config.github.api import APPROVE, WAITING
from config.github.pull_requests import PullRequestEvents
from config.github.repositories import repository_key
from config.github.statuses import context
from config.settings import Project

EVENTS = ("check_run", "check_suite")


@defer.inlineCallbacks
def newest_builds(
    master: Any, project: str, sha: str
) -> Generator[Any, Any, dict[int, dict[str, Any]]]:
    """Per builder id, the newest build of ``project`` at commit ``sha``."""
    of_project = [
        resultspec.Filter("revision", "eq", [sha]),
        resultspec.Filter("project", "eq", [project]),
    ]
    changes = yield master.data.get(("changes",), filters=of_project)
    newest: dict[int, dict[str, Any]] = {}
    for change in changes:
        builds = yield master.data.get(("changes", change["changeid"], "builds"))
        for build in builds:
            known = newest.get(build["builderid"])
            if known is None or build["buildid"] > known["buildid"]:
                newest[build["builderid"]] = build
    return newest


@defer.inlineCallbacks
def rebuild(
    master: Any, project: Project, sha: str, builders: list[str]
) -> Generator[Any, Any, str]:
    """Builds again the newest finished build of each of ``builders`` at ``sha``; what
    was done, in a line."""
    ids = {b["name"]: b["builderid"] for b in (yield master.data.get(("builders",)))}
    newest = yield newest_builds(master, project.name, sha)
    done, skipped = [], []
    for name in builders:
        build = newest.get(ids.get(name, -1))
        if build is None or not build["complete"]:
            skipped.append(name)
            continue
        yield master.data.control("rebuild", {}, ("builds", str(build["buildid"])))
        done.append(name)
    note = f"{sha[:12]}: rebuilding {', '.join(done) or 'nothing'}"
    if skipped:
        note += f" (no finished build of {', '.join(skipped)})"
    return note


@dataclass(frozen=True)
class CheckDelivery:
    """The parts of a ``check_run`` or ``check_suite`` delivery that decide what it does."""

    event: str
    action: str
    repository: str
    sha: str
    name: str
    """The check run's name ('' for a suite)."""
    waiting: int | None
    """The waiting pull request a check run shows (from its external id), or None."""
    identifier: str
    """The button pressed, for ``requested_action``."""
    sender: str

    @classmethod
    def from_payload(cls, event: str, payload: dict[str, Any]) -> CheckDelivery:
        try:
            part = payload[event]
            external = str(part.get("external_id") or "")
            number = external.removeprefix(WAITING)
            return cls(
                event=event,
                action=str(payload["action"]),
                repository=repository_key(str(payload["repository"]["full_name"])),
                sha=str(part["head_sha"]),
                name=str(part.get("name") or ""),
                waiting=int(number) if external.startswith(WAITING) and number.isdigit() else None,
                identifier=str((payload.get("requested_action") or {}).get("identifier") or ""),
                sender=str((payload.get("sender") or {}).get("login") or ""),
            )
        except (KeyError, TypeError, AttributeError):
            raise ValueError(f"{event} payload is incomplete") from None


class CheckEvents:
    """Turns check deliveries into rebuilds and approvals; see the module's docstring."""

    def __init__(
        self,
        master: Any,
        projects: dict[str, Project],
        pull_requests: PullRequestEvents,
        admins: Admins,
    ) -> None:
        self.master = master
        self.projects = projects
        self.pull_requests = pull_requests
        self.admins = admins

    @defer.inlineCallbacks
    def handle(
        self, event: str, payload: dict[str, Any]
    ) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        """The changes to store, and what was done, for the delivery's answer."""
        check = CheckDelivery.from_payload(event, payload)
        project = self.projects.get(check.repository)
        if project is None:
            return [], f"no project builds {check.repository}"
        if event == "check_suite" and check.action == "rerequested":
            note = yield rebuild(
                self.master, project, check.sha, [b.name for b in project.builders]
            )
            return [], note
        if event != "check_run" or check.action not in ("rerequested", "requested_action"):
            return [], f"{event} {check.action}: nothing to do"
        builder = {context(b.name): b.name for b in project.builders}.get(check.name)
        if builder is None:
            return [], f"{check.name!r} is not a check run of {project.name}"
        if check.action == "rerequested":
            note = yield rebuild(self.master, project, check.sha, [builder])
            return [], note
        found: tuple[list[dict[str, Any]], str] = yield self.approve(project, check)
        return found

    @defer.inlineCallbacks
    def approve(
        self, project: Project, check: CheckDelivery
    ) -> Generator[Any, Any, tuple[list[dict[str, Any]], str]]:
        """The Approve button: an admin's press builds the commit the check run shows."""
        if check.identifier != APPROVE or check.waiting is None:
            return [], f"check run action {check.identifier!r}: nothing to do"
        login = check.sender or "someone"
        admin = False
        if check.sender:
            admin = yield self.admins.include(check.repository, check.sender)
        if not admin:
            log.msg(f"{login} may not approve pull request #{check.waiting}: not an admin")
            return [], f"{login} is not an admin: approval refused"
        found: tuple[list[dict[str, Any]], str] = yield self.pull_requests.approve(
            project, check.waiting, check.sha, login, "GitHub's Approve button"
        )
        return found
