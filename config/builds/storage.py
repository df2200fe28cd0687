"""Uploads and publishing to S3: an ``upload`` step with ``s3``, and the ``publish`` step.

The worker sends the directory to the master first (the bounded upload of
:mod:`config.builds.uploads`, so the build's upload limit holds), into
``s3-staging/<project>/<branch>/<builder>-<number>/<name>/`` below the master's
directory; the master then puts its files under the rendered prefix with boto3 and
removes the staged copy. The AWS keys stay on the master: no worker ever sees them.

Each S3 request runs in a thread of its own call (:mod:`.s3_objects`), so the reactor
never waits and a thread is held for one request at a time. An upload puts the files and
an index page; a publish also deletes what is under the prefix and no longer in the
directory, then makes the ``stable`` prefix (``docs/latest``) a copy of it the same way.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import quote

from buildbot.interfaces import IRenderable
from buildbot.plugins import util
from buildbot.process.buildstep import BuildStep
from buildbot.process.results import CANCELLED, FAILURE, SKIPPED, SUCCESS
from twisted.internet import defer, threads

from config.builds import s3_objects
from config.builds.trust import builds_untrusted
from config.builds.uploads import UPLOADED, BoundedUpload, build_parts
from config.settings import S3Place, Settings
from config.settings.storage import check_rendered

STAGING = "s3-staging"
"""Below the master's directory: where uploads wait for their way to S3."""


@dataclass(frozen=True)
class S3Access:
    """How the master reaches S3: the ``s3`` section, then ``aws`` for what it leaves out."""

    region: str | None = None
    endpoint_url: str | None = None
    key_secrets: tuple[str, str] | None = None
    """The secrets' names (``s3.access_key_id``, ...): rendered late, redacted in logs."""


def s3_access(settings: Settings) -> S3Access:
    s3, aws = settings.s3, settings.aws
    region = (s3.region if s3 else None) or (aws.region if aws else None)
    if s3 is not None and s3.access_key_id is not None:
        keys: tuple[str, str] | None = ("s3.access_key_id", "s3.secret_access_key")
    elif aws is not None and aws.access_key_id is not None:
        keys = ("aws.access_key_id", "aws.secret_access_key")
    else:
        keys = None
    return S3Access(region, s3.endpoint_url if s3 else None, keys)


class StagedUpload(BoundedUpload):
    """The transfer of a directory to the master's staging, for its way to S3: not made
    for untrusted code, which puts nothing in S3 (:class:`ToS3`), so that a fork's files
    never land on the master's disk for nothing."""

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        if builds_untrusted(self.build):
            self.descriptionDone = [f"{self.name}: not sent for untrusted code"]
            return int(SKIPPED)
        result: int = yield super().run()
        return result


def staged(name: str) -> IRenderable:
    """Where the worker's directory for the step ``name`` waits, below the master's
    directory."""

    @util.renderer
    def where(props: Any) -> str:
        return str(PurePosixPath(STAGING, *build_parts(props), name))

    return where


def unstage(root: Path, top: Path) -> None:
    """Remove the staged ``root``, and the directories above it up to ``top`` that it
    leaves empty."""
    shutil.rmtree(root, ignore_errors=True)
    for parent in root.parents:
        if parent == top or top not in parent.parents:
            break
        try:
            parent.rmdir()
        except OSError:  # not empty: another build's uploads wait there
            break


class ToS3(BuildStep):
    """Puts the staged directory of ``upload`` under ``prefix`` in ``place.bucket`` and
    links its index from the build; with ``sync``, deletes the objects under the prefix
    whose files are gone, then syncs ``stable`` (if given) the same way."""

    renderables: ClassVar[list[str]] = ["where", "prefix", "stable", "key_id", "secret"]

    def __init__(
        self,
        *,
        upload: str,
        place: S3Place,
        access: S3Access,
        sync: bool,
        stable: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.upload = upload
        self.place = place
        self.access = access
        self.sync = sync
        self.where = staged(upload)
        self.prefix = util.Interpolate(place.prefix)
        self.stable = util.Interpolate(stable) if stable else None
        self.stable_setting = stable or ""
        keys = access.key_secrets
        self.key_id = util.Secret(keys[0]) if keys else None
        self.secret = util.Secret(keys[1]) if keys else None
        self.failed_because: str | None = None
        self.links: dict[str, str] = {}

    @defer.inlineCallbacks
    def run(self) -> Generator[Any, Any, int]:
        root = Path(self.master.basedir, self.where)
        try:
            if builds_untrusted(self.build):
                # The keys would write what a fork chose where it chose (a prefix may
                # name the version its own build printed).
                self.descriptionDone = [f"{self.upload}: not put in S3 for untrusted code"]
                return int(SKIPPED)
            if not root.is_dir():  # the upload failed and the build went on
                self.descriptionDone = [f"{self.upload}: nothing to put in S3"]
                return int(SKIPPED)
            result: int = yield self._put(root)
        finally:
            yield threads.deferToThread(unstage, root, Path(self.master.basedir, STAGING))
        return result

    @defer.inlineCallbacks
    def _put(self, root: Path) -> Generator[Any, Any, int]:
        try:
            prefix = check_rendered(self.prefix, self.place.prefix)
            stable = check_rendered(self.stable, self.stable_setting) if self.stable else None
        except ValueError as refused:
            return self._fail(f"prefix {refused}")
        if stable is not None and s3_objects.overlaps(prefix, stable):
            return self._fail(f"stable {stable} and prefix {prefix} hold one another")
        files: dict[str, int] = yield threads.deferToThread(s3_objects.thd_local_files, root)
        try:
            client = yield threads.deferToThread(
                s3_objects.thd_client,
                self.access.region,
                self.access.endpoint_url,
                self.key_id,
                self.secret,
            )
            for target in [prefix, *([stable] if stable else [])]:
                yield self._sync(client, root, target, files)
                if self.stopped:
                    return int(CANCELLED)
                self.links[target] = self._address(client, target)
        except Exception as error:
            said = s3_objects.problem(error)
            if said is None:
                raise
            return self._fail(f"S3: {said}")
        for target, url in self.links.items():
            yield self.addURL(target, url)
        self.setProperty(
            UPLOADED, int(self.getProperty(UPLOADED) or 0) + sum(files.values()), self.name
        )
        return int(SUCCESS)

    @defer.inlineCallbacks
    def _sync(
        self, client: Any, root: Path, prefix: str, files: dict[str, int]
    ) -> Generator[Any, Any, None]:
        """Put ``files`` (those S3 does not have already) and the index under ``prefix``;
        when syncing, delete the rest."""
        bucket = self.place.bucket
        there: dict[str, str] = {}
        token: str | None = None
        while True:
            page, token = yield threads.deferToThread(
                s3_objects.thd_listing, client, bucket, prefix, token
            )
            there.update(page)
            if token is None:
                break
        wanted: set[str] = set()
        for relative in sorted(files):
            if self.stopped:  # the build was stopped: no more requests
                return
            key = s3_objects.object_key(prefix, relative)
            wanted.add(key)
            yield threads.deferToThread(
                s3_objects.thd_put_file, client, bucket, key, root / relative, there.get(key)
            )
        if s3_objects.INDEX not in files:
            key = yield threads.deferToThread(
                s3_objects.thd_put_index, client, bucket, prefix, list(files)
            )
            wanted.add(key)
        if self.sync and not self.stopped:
            gone = sorted(set(there) - wanted)
            for start in range(0, len(gone), s3_objects.DELETE_BATCH):
                batch = gone[start : start + s3_objects.DELETE_BATCH]
                yield threads.deferToThread(s3_objects.thd_delete, client, bucket, batch)

    def _address(self, client: Any, prefix: str) -> str:
        """The web address of the index under ``prefix``."""
        base = self.place.url or f"{client.meta.endpoint_url}/{self.place.bucket}/"
        return f"{base.rstrip('/')}/{quote(prefix)}/{s3_objects.INDEX}"

    def _fail(self, reason: str) -> int:
        self.failed_because = reason
        return int(FAILURE)

    def getResultSummary(self) -> dict[str, str]:
        if self.failed_because is not None:
            return {"step": self.failed_because}
        if self.results == SUCCESS:
            return {"step": f"{self.upload} in s3://{self.place.bucket}/{' and '.join(self.links)}"}
        summary: dict[str, str] = super().getResultSummary()
        return summary
