"""Uploads: where an ``upload`` step puts a build's results, and how they are published.

An upload lands in ``results/<project>/<branch>/<builder>-<number>/<name>/`` below the
master's directory (a branch with ``/`` is a few directories deep), the build links to it,
and ``results/<project>/<branch>/latest/<name>`` always points at the newest upload of
that name on that branch: the stable address of the main branch's documentation. The web
UI serves them (:mod:`config.web.results`); the nightly janitor prunes them
(:mod:`config.builds.janitor`).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import quote

from buildbot.interfaces import IRenderable
from buildbot.plugins import steps, util
from buildbot.process import logobserver, remotecommand
from buildbot.process.buildstep import BuildStep
from buildbot.process.results import FAILURE, SKIPPED, SUCCESS
from twisted.internet import defer, threads

from config.builds.scripts import PYTHON, printed, script

RESULTS = "results"
PUBLISHED = ".published"
"""Marks a build's directory of results; its age is the age of the results."""
LATEST = "latest"


def _safe(part: str) -> str:
    """A path part that stays where it is put (a forced branch name is free text)."""
    return "_" if part in ("", ".", "..", LATEST) else part


def build_parts(props: Any) -> list[str]:
    """``[project, *branch parts, "<builder>-<number>"]`` for the build of ``props``."""
    branch = str(props.getProperty("branch") or "_")
    return [
        _safe(str(props.getProperty("project") or "_")),
        *(_safe(part) for part in branch.split("/")),
        f"{props.getProperty('buildername')}-{props.getProperty('buildnumber')}",
    ]


def destination(name: str) -> IRenderable:
    """Where an upload named ``name`` goes, relative to the master's directory."""

    @util.renderer
    def where(props: Any) -> str:
        return str(PurePosixPath(RESULTS, *build_parts(props), name))

    return where


def address(base: str | None, name: str) -> IRenderable:
    """The web address of an upload: below ``base``, or the master's own ``/results/``."""

    @util.renderer
    def url(props: Any) -> str:
        root = base or f"{props.master.config.buildbotURL}{RESULTS}/"
        return (
            root.rstrip("/")
            + "/"
            + "/".join(quote(part) for part in [*build_parts(props), name])
            + "/"
        )

    return url


SIZEOF_SCRIPT = script("sizeof.py")
UPLOADED = "uploaded_bytes"
"""The property: the bytes the build has uploaded so far, counted against its limit."""


class BoundedUpload(steps.DirectoryUpload):
    """Buildbot's DirectoryUpload within the build's upload budget (``limits.upload_mb``,
    all its uploads together): a directory larger than what is left is not sent, and the
    step fails saying so. The budget is also the transfer's size limit, so a directory that
    grows after it was measured sends no more than that.

    It is measured first (``scripts/sizeof.py``) because Buildbot 4.3's transfer past its
    limit ends with a failed unpack the worker cannot report: the step would never end.
    """

    renderables: ClassVar[list[str]] = ["maxsize"]  # added to the base class's own

    def __init__(self, *, budget: int, **kwargs: Any) -> None:
        self.budget = budget

        @util.renderer
        def remaining(props: Any) -> int:
            return max(0, budget - int(props.getProperty(UPLOADED) or 0))

        super().__init__(maxsize=remaining, **kwargs)
        self.over_budget = False
        self.addLogObserver("stdio", logobserver.LineConsumerLogObserver(self._watch))

    def _watch(self) -> Generator[None, tuple[str, str], None]:
        while True:
            _, line = yield
            if "Maximum filesize reached" in line:
                self.over_budget = True

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        size = yield self._size()
        left = self.budget - int(self.getProperty(UPLOADED) or 0)
        if size is not None and size > left:
            self.over_budget = True
            return int(FAILURE)
        result: int = yield super().run()
        if self.over_budget:
            return int(FAILURE)
        return result

    @defer.inlineCallbacks
    def _size(self) -> Generator[Any, Any, int | None]:
        """The bytes of the directory to upload, as the worker sees them (None: unknown)."""
        cmd = remotecommand.RemoteShellCommand(
            self.workdir,
            [*PYTHON, self.workersrc],
            collectStdout=True,
            initialStdin=SIZEOF_SCRIPT,
        )
        yield self.runCommand(cmd)
        found = printed(cmd.stdout).get("size")
        return int(found[0]) if cmd.rc == 0 and found else None

    def getResultSummary(self) -> dict[str, str]:
        if self.over_budget:
            limit = f"{self.budget / (1024 * 1024):g}"
            return {"step": f"uploads over the build's limit of {limit} MB (limits.upload_mb)"}
        summary: dict[str, str] = super().getResultSummary()
        return summary


class Publish(BuildStep):
    """Marks the build's results as published now and points ``latest/<name>`` at them.

    Runs in the master (it has no command), right after the upload it publishes.
    """

    renderables: ClassVar[list[str]] = ["where"]

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name=f"publish {name}", **kwargs)
        self.upload = name
        self.where = destination(name)

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        upload = Path(self.master.basedir, self.where)
        if not upload.is_dir():  # the upload failed and the build went on
            self.descriptionDone = [f"{self.upload}: nothing to publish"]
            return int(SKIPPED)
        size = yield threads.deferToThread(publish, upload)
        self.setProperty(UPLOADED, int(self.getProperty(UPLOADED) or 0) + size, self.name)
        self.descriptionDone = [f"{self.upload} published"]
        return int(SUCCESS)


def publish(upload: Path) -> int:
    """Publish ``upload``; its size in bytes (what it takes of the build's budget)."""
    size = sum(f.stat().st_size for f in upload.rglob("*") if f.is_file() and not f.is_symlink())
    build = upload.parent
    (build / PUBLISHED).touch()
    latest = build.parent / LATEST
    latest.mkdir(exist_ok=True)
    link = latest / upload.name
    staged = latest / f".{upload.name}.new"
    staged.unlink(missing_ok=True)
    staged.symlink_to(Path("..", build.name, upload.name))
    os.replace(staged, link)  # atomic: a reader sees the old or the new results
    return size
