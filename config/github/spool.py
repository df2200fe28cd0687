"""The webhook's spool: each signed delivery kept as one file on the master's data volume
until what it builds is stored.

A delivery is answered 2xx only once its file is on disk (written under a temporary name,
fsynced, renamed into place, the directory fsynced), so a master that is killed, or whose
database fails, after the answer still has it: :mod:`config.github.deliveries` processes
what is left at the next start. The spool is a directory and not a table of the database
so that a delivery is kept, and answered within GitHub's 10 s, even while the database is
locked or down.

The functions here do blocking file I/O: they run in the delivery service's own thread,
never in the reactor's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

SUFFIX = ".delivery"
TEMPORARY = ".partial"
UNNAMED = "unnamed-"
FAILED = "failed"
"""The spool's directory of the deliveries set aside after their last try."""


@dataclass(frozen=True)
class Delivery:
    """One delivery as GitHub sent it: its event, id, content type and raw body."""

    event: str
    id: str
    """GitHub's ``X-GitHub-Delivery`` (the same for a redelivery), or a random one."""
    content_type: str
    body: bytes

    @property
    def named(self) -> bool:
        """Whether GitHub named it (so that a redelivery can be told)."""
        return not self.id.startswith(UNNAMED)

    @cached_property
    def _digest(self) -> str:
        return f"sha256:{hashlib.sha256(self.body).hexdigest()}"

    def keys(self) -> list[str]:
        """What tells it processed before (:mod:`config.github.delivered`): its body's
        digest (hashed once), and GitHub's id when it named it."""
        return [self.id, self._digest] if self.named else [self._digest]

    def payload(self) -> dict[str, Any]:
        """The delivery's JSON object; ValueError for anything else."""
        if self.content_type == "application/json":
            text = self.body
        elif self.content_type == "application/x-www-form-urlencoded":
            form = urllib.parse.parse_qs(self.body.decode(errors="replace"))
            text = (form.get("payload") or [""])[0].encode()
        else:
            raise ValueError(f"Unknown content type: {self.content_type!r}")
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):  # nesting too deep for the decoder, too
            raise ValueError("Payload is not JSON") from None
        if not isinstance(payload, dict):
            raise ValueError("Payload is not a JSON object")
        return payload

    def file_name(self) -> str:
        """Its name in the spool: the time it came (so names sort in arrival order) and its id."""
        safe = re.sub(r"[^A-Za-z0-9-]", "_", self.id)[:64]
        return f"{time.time_ns():020d}-{safe}{SUFFIX}"

    def dumps(self) -> bytes:
        """The file's bytes: a line of JSON naming it, then the raw body."""
        head = {"event": self.event, "id": self.id, "content_type": self.content_type}
        return json.dumps(head).encode() + b"\n" + self.body

    @classmethod
    def loads(cls, data: bytes) -> Delivery:
        head, _, body = data.partition(b"\n")
        fields = json.loads(head)
        return cls(str(fields["event"]), str(fields["id"]), str(fields["content_type"]), body)


def delivery_id(header: bytes | None) -> str:
    """GitHub's delivery id, or a random one for a sender that gives none (it then cannot
    be told from a redelivery)."""
    given = (header or b"").decode(errors="replace").strip()
    return given[:200] if given else f"{UNNAMED}{uuid.uuid4()}"


def prepare(directory: Path) -> None:
    """Make the spool, and drop what a write cut short left (never answered 2xx)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in directory.glob(f"*{TEMPORARY}"):
        path.unlink(missing_ok=True)


def write(directory: Path, name: str, delivery: Delivery) -> Path:
    """Keep ``delivery`` as ``name`` in the spool, durably, all or nothing."""
    final = directory / name
    partial = directory / f"{name}{TEMPORARY}"
    with partial.open("xb") as out:
        out.write(delivery.dumps())
        out.flush()
        os.fsync(out.fileno())
    partial.rename(final)
    _sync_directory(directory)
    return final


def waiting(directory: Path) -> list[str]:
    """The names of the deliveries in the spool, oldest first."""
    return sorted(path.name for path in directory.glob(f"*{SUFFIX}"))


def read(directory: Path, name: str) -> Delivery | None:
    """A delivery of the spool; None when it is gone (processed meanwhile)."""
    try:
        return Delivery.loads((directory / name).read_bytes())
    except FileNotFoundError:
        return None


def remove(directory: Path, name: str) -> None:
    """Drop a processed delivery from the spool. Not synced: should the removal be lost
    in a crash, the delivery's id is recorded already, and it builds nothing again."""
    (directory / name).unlink(missing_ok=True)


def set_aside(directory: Path, name: str) -> Path:
    """Move a delivery that keeps failing to ``failed/`` of the spool, where nothing
    tries it again and it stays for a person to look at; its new path."""
    failed = directory / FAILED
    failed.mkdir(mode=0o700, exist_ok=True)
    (directory / name).rename(failed / name)
    _sync_directory(directory)
    return failed / name


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
