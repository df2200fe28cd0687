"""What the master remembers about open pull requests, in its database's state table.

One state value per branch (``branch:<project>:<branch>``: the same-repository pull request
it belongs to) and per waiting pull request (``waiting:<project>:<n>``: the change an
approval submits, its head commit among it), so deliveries about different pull requests
never overwrite each other's records; and per project, the numbers that wait
(``waiting:<project>``), which the web UI's Approve form lists with their head commits.

One service per master holds them (:data:`SERVICE`): the webhook and the Approve form
both go through it, and it changes the list of waiting numbers under one lock, so two
deliveries at once never lose one. A restarted master, and every master of a cluster,
read the same records; the list the form shows is read again every few seconds.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from buildbot.util import service
from twisted.internet import defer, task
from twisted.python import log

SERVICE = "pull-request-records"


class PullRequestRecords(service.BuildbotService):
    """The records of open pull requests; see the module's docstring."""

    name = SERVICE
    refresh_every = 5.0
    """Seconds between reads of the waiting lists (another master may change them)."""

    def checkConfig(self, projects: list[str], **kwargs: Any) -> None:
        super().checkConfig(**kwargs)

    @defer.inlineCallbacks
    def reconfigService(self, projects: list[str], **kwargs: Any) -> Generator[Any, Any, None]:
        yield super().reconfigService(**kwargs)
        self.projects = list(projects)
        if not hasattr(self, "shown"):
            self.lock = defer.DeferredLock()
            self.shown: dict[str, list[dict[str, Any]]] = {}
            """Per project, the waiting pull requests as the form lists them."""
            self._objectid: int | None = None

    @defer.inlineCallbacks
    def startService(self) -> Generator[Any, Any, None]:
        yield super().startService()
        self._refresher = task.LoopingCall(self.refresh)
        self._refresher.clock = self.master.reactor
        self._refresher.start(self.refresh_every, now=True)

    def stopService(self) -> Any:
        if self._refresher.running:
            self._refresher.stop()
        return super().stopService()

    @defer.inlineCallbacks
    def _object(self) -> Generator[Any, Any, int]:
        if self._objectid is None:
            self._objectid = yield self.master.db.state.getObjectId(
                # The name the records were first stored under: kept, so a master
                # upgraded from then still finds them.
                "pull-requests",
                "config.pull_requests.Ledger",
            )
        return self._objectid

    @defer.inlineCallbacks
    def get(self, name: str) -> Generator[Any, Any, Any]:
        objectid = yield self._object()
        value = yield self.master.db.state.getState(objectid, name, None)
        return value

    @defer.inlineCallbacks
    def put(self, name: str, value: Any) -> Generator[Any, Any, None]:
        objectid = yield self._object()
        yield self.master.db.state.setState(objectid, name, value)

    @staticmethod
    def branch(project: str, branch: str) -> str:
        return f"branch:{project}:{branch}"

    @staticmethod
    def waiting(project: str, number: int | None = None) -> str:
        """The record of one waiting pull request, or (no number) the project's list."""
        return f"waiting:{project}" + ("" if number is None else f":{number}")

    # --- waiting pull requests --------------------------------------------------------

    def wait(self, project: str, number: int, change: dict[str, Any]) -> defer.Deferred[None]:
        """``change`` (a pull request's head) waits for an admin's approval."""
        return self.lock.run(self._set_waiting, project, number, change)

    def release(
        self, project: str, number: int, head_sha: str | None
    ) -> defer.Deferred[dict[str, Any] | None]:
        """The waiting change of a pull request, no longer waiting; None when none waits, or
        (given ``head_sha``) when another commit waits: an approval is for one commit."""
        return self.lock.run(self._release, project, number, head_sha)

    def forget(self, project: str, number: int) -> defer.Deferred[None]:
        """The pull request waits no more (it was closed)."""
        return self.lock.run(self._set_waiting, project, number, None)

    def shown_waiting(self, project: str) -> list[dict[str, Any]]:
        """The waiting pull requests of ``project`` as last read: number, head commit,
        title and author each."""
        return self.shown.get(project, [])

    @defer.inlineCallbacks
    def _release(
        self, project: str, number: int, head_sha: str | None
    ) -> Generator[Any, Any, dict[str, Any] | None]:
        change: dict[str, Any] | None = yield self.get(self.waiting(project, number))
        if not change or (head_sha is not None and change["revision"] != head_sha):
            return None
        yield self._set_waiting(project, number, None)
        return change

    @defer.inlineCallbacks
    def _set_waiting(
        self, project: str, number: int, change: dict[str, Any] | None
    ) -> Generator[Any, Any, None]:
        yield self.put(self.waiting(project, number), change)
        numbers: list[int] = (yield self.get(self.waiting(project))) or []
        wanted = sorted({*numbers, number} if change else set(numbers) - {number})
        if wanted != numbers:
            yield self.put(self.waiting(project), wanted)
        yield self._read(project)

    @defer.inlineCallbacks
    def refresh(self) -> Generator[Any, Any, None]:
        """Read every project's waiting list again (a failure is logged, and retried)."""
        for project in self.projects:
            try:
                yield self._read(project)
            except Exception as error:  # a locked database: the next refresh tries again
                self.shown.setdefault(project, [])
                log.msg(f"pull request records of {project}: cannot read them: {error}")

    @defer.inlineCallbacks
    def _read(self, project: str) -> Generator[Any, Any, None]:
        numbers: list[int] = (yield self.get(self.waiting(project))) or []
        shown = []
        for number in numbers:
            change = yield self.get(self.waiting(project, number))
            if change:
                properties = change.get("properties", {})
                shown.append(
                    {
                        "number": number,
                        "revision": change["revision"],
                        "title": str(properties.get("pull_request_title", "")),
                        "author": str(change.get("author", "")),
                    }
                )
        self.shown[project] = shown


def records(master: Any) -> PullRequestRecords:
    """The master's pull request records (configured with webhooks)."""
    found: PullRequestRecords = master.service_manager.namedServices[SERVICE]
    return found
