"""The schedulers of pull requests: those their deliveries let build, and those an admin
approves in the web UI (:mod:`config.github.pull_requests` decides which is which)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.plugins import schedulers, util
from buildbot.schedulers.base import BaseScheduler
from buildbot.schedulers.forcesched import CollectedValidationError
from twisted.internet import defer
from twisted.python import log

from config.builds.branches import builds_pull_requests
from config.builds.changes import APPROVED, PULL_REQUEST
from config.builds.trust import UNTRUSTED
from config.github.pull_requests import approved
from config.github.records import SERVICE, records
from config.settings import Project, Settings


def on_pull_request(
    project: Project, settings: Settings, untrusted: bool, builders: list[str]
) -> BaseScheduler:
    """Builds the pull requests :mod:`config.github.pull_requests` lets build, as pushes
    build: trusted ones on every builder, those of forks (``untrusted``) on the builders
    that take untrusted builds."""
    return schedulers.AnyBranchScheduler(
        name=f"{project.name}-{'forks' if untrusted else 'pull-requests'}",
        change_filter=util.ChangeFilter(
            project=project.name,
            category=PULL_REQUEST,
            filter_fn=lambda change: bool(change.properties.getProperty(UNTRUSTED)) == untrusted,
        ),
        treeStableTimer=settings.tree_stable_timer or None,
        builderNames=builders,
    )


class WaitingPullRequest(util.ChoiceStringParameter):
    """The Approve form's list of the pull requests that wait, each with its head commit.

    The web UI reads a form's fields each time it opens it, so the list is the one of the
    moment (:mod:`config.github.records`): number, head commit, title and author. An admin
    approves the commit the form shows, and only that one.
    """

    def __init__(self, project: str) -> None:
        super().__init__(
            name="pull_request",
            label="Pull request (its head commit)",
            required=True,
            strict=False,  # checked by Approve.force, which can say what changed
        )
        self.project = project
        self.master: Any = None

    @property
    def choices(self) -> list[str]:
        if self.master is None or SERVICE not in self.master.service_manager.namedServices:
            return []
        return [choice(pr) for pr in records(self.master).shown_waiting(self.project)]

    @choices.setter
    def choices(self, value: list[str]) -> None:
        pass  # the list is always the records'


def choice(pr: dict[str, Any]) -> str:
    """How the form lists one waiting pull request; :func:`chosen` reads it back."""
    title = pr["title"] if len(pr["title"]) <= 60 else pr["title"][:57] + "..."
    return f"#{pr['number']} at {pr['revision']}: {title} (by {pr['author']})"


def chosen(value: str) -> tuple[int, str]:
    """The pull request number and head commit of a choice of the form."""
    number, at, revision = value.split(" ", 3)[:3]
    if not number.startswith("#") or at != "at":
        raise ValueError(value)
    return int(number[1:]), revision.rstrip(":")


class Approve(schedulers.ForceScheduler):
    """The web UI's "Approve" form: an admin lets the head commit of a waiting pull request
    build. Forcing is for admins only (:mod:`config.web.auth`), so anyone else gets 403.

    The form lists the waiting pull requests with their head commits; an approval builds
    the commit it names or nothing (a push since the form opened waits again). The approved
    commit becomes a change as its delivery's would have (so a newer one supersedes its
    build), of category ``approved`` so the pull request scheduler leaves it to this one,
    which builds it at once: the UI follows the new build request.
    """

    def __init__(self, project: Project, builders: list[str]) -> None:
        self.project = project
        self.waiting = WaitingPullRequest(project.name)
        fixed = {"default": ""}
        super().__init__(
            name=f"{project.name}-approve",
            buttonName="Approve",
            label=f"Approve a pull request of {project.name} to build",
            builderNames=builders,
            reason=util.FixedParameter(name="reason", default="approved"),
            codebases=[
                util.CodebaseParameter(
                    "",
                    **{
                        field: util.FixedParameter(name=field, **fixed)
                        for field in ("branch", "revision", "repository", "project")
                    },
                )
            ],
            properties=[self.waiting],
        )

    def startService(self) -> Any:
        self.waiting.master = self.master
        return super().startService()

    @defer.inlineCallbacks
    def force(self, owner: str, **kwargs: Any) -> Generator[Any, Any, tuple[int, dict[int, int]]]:
        given = kwargs.get("pull_request")
        try:
            number, revision = chosen(str(given[0] if isinstance(given, list) else given))
        except (TypeError, ValueError):
            raise CollectedValidationError(
                {"pull_request": "choose a waiting pull request from the list"}
            ) from None
        change = yield records(self.master).release(self.project.name, number, revision)
        if change is None:
            raise CollectedValidationError(
                {
                    "pull_request": f"pull request #{number} does not wait with {revision[:12]}"
                    " any more: open the form again to see what waits now"
                }
            )
        approved(change, owner)
        changeid = yield self.master.data.updates.addChange(
            src="git", **{**change, "category": APPROVED}
        )
        log.msg(f"{owner} approved pull request #{number} of {self.project.name} at {revision}")
        buildset: tuple[int, dict[int, int]] = yield self.addBuildsetForChanges(
            reason=f"pull request #{number} at {revision[:12]} approved by {owner}",
            changeids=[changeid],
            builderNames=self.builderNames,
        )
        return buildset


def build(settings: Settings) -> list[BaseScheduler]:
    """With webhooks: each project's pull request schedulers, and where forks build, the
    schedulers of forks and of their approvals (pull requests that wait are forks')."""
    if settings.changes.kind != "github":
        return []
    found: list[BaseScheduler] = []
    for project in settings.projects:
        every = [b.name for b in project.on_changes() if builds_pull_requests(b.branches)]
        found.append(on_pull_request(project, settings, untrusted=False, builders=every))
        if forks := [name for name in settings.fork_builders(project) if name in every]:
            found += [
                on_pull_request(project, settings, untrusted=True, builders=forks),
                Approve(project, forks),
            ]
    return found
