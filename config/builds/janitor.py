"""Buildbot's nightly janitor: old logs pruned, and old results with them.

Buildbot's ``JanitorConfigurator`` is a nightly build on a worker inside the master that
deletes log chunks older than ``results.log_keep_days``; one more step of that build
deletes results (:mod:`config.builds.uploads`) published more than ``results.keep_days``
ago, and what a master stopped mid-build left in ``s3-staging/`` (:mod:`config.builds.storage`).
"""

from __future__ import annotations

import datetime
import os
import shutil
import stat
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from buildbot.configurators.janitor import JANITOR_NAME
from buildbot.plugins import util
from buildbot.process.buildstep import BuildStep
from buildbot.process.results import SUCCESS
from twisted.internet import defer, threads

from config.builds.storage import STAGING
from config.builds.uploads import PUBLISHED, RESULTS
from config.settings import Settings


class PruneResults(BuildStep):
    """Deletes results published more than ``keep_days`` ago, and what pointed at them;
    and uploads staged for S3 a day ago or more (a step puts them within minutes)."""

    name = "prune results"

    def __init__(self, keep_days: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keep_days = keep_days

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        root = Path(self.master.basedir, RESULTS)
        cutoff = time.time() - self.keep_days * 86400
        deleted = yield threads.deferToThread(prune, root, cutoff)
        staged = Path(self.master.basedir, STAGING)
        left = yield threads.deferToThread(prune_staged, staged, time.time() - STAGED_DAYS * 86400)
        self.descriptionDone = [f"deleted {deleted} results older than {self.keep_days} days"]
        if left:
            self.descriptionDone.append(f"and {left} files staged for S3 and never put")
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
    _sweep(root, lambda path: not path.exists())  # a link whose target went
    return deleted


STAGED_DAYS = 1


def prune_staged(root: Path, cutoff: float) -> int:
    """Delete the files below ``root`` that came (their inode changed: an upload keeps the
    files' own times) before ``cutoff``, then the directories left empty; how many files
    went. A step unstages its files once S3 has them, so these are a stopped master's."""
    if not root.is_dir():
        return 0
    return _sweep(root, lambda path: path.lstat().st_ctime < cutoff)


def _sweep(root: Path, doomed: Callable[[Path], bool]) -> int:
    """Delete, deepest first, what below ``root`` is not a directory and is ``doomed``,
    then the directories left empty; how many went."""
    deleted = 0
    for directory, _, _ in os.walk(root, topdown=False):
        here = Path(directory)
        for path in list(here.iterdir()):  # what is left of it now
            if not stat.S_ISDIR(path.lstat().st_mode) and doomed(path):
                path.unlink()
                deleted += 1
        if here != root and not any(here.iterdir()):
            here.rmdir()
    return deleted


class Janitor(util.JanitorConfigurator):
    """Buildbot's nightly janitor (log pruning), with results pruning as one more step."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(logHorizon=datetime.timedelta(days=settings.results.log_keep_days), hour=3)
        self.keep_days = settings.results.keep_days

    def configure(self, config_dict: dict[str, Any]) -> None:
        super().configure(config_dict)
        [builder] = [b for b in config_dict["builders"] if b.name == JANITOR_NAME]
        builder.factory.addStep(PruneResults(self.keep_days))
