"""Results pages: what ``upload`` steps publish, served at ``/results/`` and pruned daily.

An upload lands in ``results/<project>/<branch>/<builder>-<number>/<name>/`` below the
master's directory (a branch with ``/`` is a few directories deep), the build links to it,
and ``results/<project>/<branch>/latest/<name>`` always points at the newest upload of
that name on that branch: the stable address of the main branch's documentation.
Buildbot's janitor (its ``JanitorConfigurator``: a nightly build on a worker inside the
master) prunes old logs; one more step of that build deletes results older than
``results.keep_days``.
"""

from __future__ import annotations

import datetime
import os
import shutil
import time
from collections.abc import Generator
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import quote

from buildbot.configurators.janitor import JANITOR_NAME
from buildbot.interfaces import IRenderable
from buildbot.plugins import util
from buildbot.process.buildstep import BuildStep
from buildbot.process.results import SKIPPED, SUCCESS
from twisted.internet import defer, threads
from twisted.web.resource import Resource
from twisted.web.static import File

from config.settings import Settings
from config.webroot import WebPage

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
        yield threads.deferToThread(publish, upload)
        self.descriptionDone = [f"{self.upload} published"]
        return int(SUCCESS)


def publish(upload: Path) -> None:
    build = upload.parent
    (build / PUBLISHED).touch()
    latest = build.parent / LATEST
    latest.mkdir(exist_ok=True)
    link = latest / upload.name
    staged = latest / f".{upload.name}.new"
    staged.unlink(missing_ok=True)
    staged.symlink_to(Path("..", build.name, upload.name))
    os.replace(staged, link)  # atomic: a reader sees the old or the new results


class PruneResults(BuildStep):
    """Deletes results published more than ``keep_days`` ago, and what pointed at them."""

    name = "prune results"

    def __init__(self, keep_days: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keep_days = keep_days

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        root = Path(self.master.basedir, RESULTS)
        cutoff = time.time() - self.keep_days * 86400
        deleted = yield threads.deferToThread(prune, root, cutoff)
        self.descriptionDone = [f"deleted {deleted} results older than {self.keep_days} days"]
        return int(SUCCESS)


def prune(root: Path, cutoff: float) -> int:
    """Delete every build directory published before ``cutoff``; then dangling links and
    empty directories. Returns how many build directories went."""
    if not root.is_dir():
        return 0
    deleted = 0
    for marker in list(root.rglob(PUBLISHED)):
        if marker.stat().st_mtime < cutoff:
            shutil.rmtree(marker.parent)
            deleted += 1
    for directory, subdirectories, files in os.walk(root, topdown=False):
        here = Path(directory)
        for name in [*files, *subdirectories]:
            if (here / name).is_symlink() and not (here / name).exists():
                (here / name).unlink()
        if here != root and not any(here.iterdir()):
            here.rmdir()
    return deleted


class ResultsPages(WebPage):
    """Serves the results directory at ``/results/``, with directory listings."""

    path = RESULTS

    def page(self) -> Resource:
        root = Path(self.master.basedir, RESULTS)
        root.mkdir(exist_ok=True)
        return File(str(root))


class Janitor(util.JanitorConfigurator):
    """Buildbot's nightly janitor (log pruning), with results pruning as one more step."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(logHorizon=datetime.timedelta(days=settings.results.log_keep_days), hour=3)
        self.keep_days = settings.results.keep_days

    def configure(self, config_dict: dict[str, Any]) -> None:
        super().configure(config_dict)
        [builder] = [b for b in config_dict["builders"] if b.name == JANITOR_NAME]
        builder.factory.addStep(PruneResults(self.keep_days))
