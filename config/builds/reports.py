"""Report files (JUnit XML) fetched from the worker to the master, bounded.

A build names its reports by glob patterns below the step's directory; the master takes at
most :data:`MOST_FILES` of them and at most ``budget`` bytes in all, the worker stopping
the transfer of a file past it. What could not be read is said in a line, never raised.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from buildbot.process import remotecommand
from buildbot.steps.worker import CompositeStepMixin
from buildbot.worker.protocols import base
from twisted.internet import defer

MOST_FILES = 100
BLOCK = 64 * 1024


class _Collected(base.FileWriterImpl):
    """What the worker sends of one file, kept as bytes (any encoding, any content).

    The worker is told the most it may send, but a hostile one may send more: past
    ``keep`` bytes nothing more is kept, only counted.
    """

    def __init__(self, keep: int) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.keep = keep

    def remote_write(self, data: bytes | str) -> None:
        chunk = data.encode() if isinstance(data, str) else bytes(data)
        room = self.keep - self.size
        if room > 0:
            self.chunks.append(chunk[:room])
        self.size += len(chunk)

    def remote_close(self) -> None:
        pass

    def remote_utime(self, accessed_modified: Any) -> None:
        pass


@dataclass
class Fetched:
    """The reports read (worker path, content), and a line for each one that was not."""

    files: list[tuple[str, bytes]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class WorkerReports(CompositeStepMixin):
    """Mixed into a step: :meth:`fetch_reports` after its command."""

    @defer.inlineCallbacks
    def _glob(self, pattern: str) -> Generator[Any, Any, list[str]]:
        """The paths matching ``pattern``, relative to the step's directory."""
        path = self.build.path_module
        here = path.join(self.getProperty("builddir"), self.workdir)
        try:
            files = yield self.runGlob(path.join(here, pattern), abandonOnFailure=False)
        except (KeyError, IndexError):  # the worker could not glob: no 'files' update
            return []
        return sorted(path.relpath(str(f), here) for f in files or [])

    @defer.inlineCallbacks
    def _fetch(self, worker_path: str, room: int) -> Generator[Any, Any, tuple[bytes | None, str]]:
        writer = _Collected(keep=room + 1)
        command = remotecommand.RemoteCommand(
            "uploadFile",
            {
                "workdir": self.workdir,
                "workersrc": worker_path,
                "writer": writer,
                "maxsize": room + 1,
                "blocksize": BLOCK,
                "keepstamp": False,
            },
        )
        yield self.runCommand(command)
        if writer.size > room:
            return None, "too big"
        if command.didFail():
            return None, "could not be read"
        return b"".join(writer.chunks), ""

    @defer.inlineCallbacks
    def fetch_reports(self, patterns: list[str], budget: int) -> Generator[Any, Any, Fetched]:
        """The files matching ``patterns`` (relative to the step's directory), read."""
        fetched = Fetched()
        paths: list[str] = []
        for pattern in patterns:
            matched = yield self._glob(pattern)
            if not matched:
                fetched.problems.append(f"no file matches {pattern}")
            paths += [p for p in matched if p not in paths]
        if len(paths) > MOST_FILES:
            fetched.problems.append(f"{len(paths) - MOST_FILES} reports over {MOST_FILES} left out")
            paths = paths[:MOST_FILES]
        room = budget
        for worker_path in paths:
            content, problem = yield self._fetch(worker_path, room)
            if content is None:
                limit = f"{budget / (1024 * 1024):g} MB"
                reason = f"over the reports' limit of {limit}" if problem == "too big" else problem
                fetched.problems.append(f"{worker_path}: {reason}")
                continue
            room -= len(content)
            fetched.files.append((worker_path, content))
        return fetched
