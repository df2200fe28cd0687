"""This master's id on its EC2 instances: random, made once, kept in the master's directory.

The start-up sweep terminates instances that look like this master's but that no worker
of it owns. Tags by host and pool name would take another master's instances for ours when
two masters share a host (or a ``buildmaster.host``) and a pool name; an id drawn once per
master directory (which lives on the data volume, so restarts and new images keep it) does
not.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from twisted.python import log

MASTER_ID_TAG = "buildbot-master-id"
"""Tag naming the master that launched an instance: the sweep looks only at its own."""

FILE_NAME = "ec2-master-id"
"""In the master's directory."""


def master_id(basedir: Path) -> str:
    """The id of the master whose directory is ``basedir``: read, or made and written
    (atomically) the first time. A few bytes, read once per start."""
    path = basedir / FILE_NAME
    try:
        found = path.read_bytes().decode("ascii", "replace").strip()
    except FileNotFoundError:
        found = ""
    if found.isalnum():
        return found
    made = secrets.token_hex(8)
    part = path.with_name(f"{FILE_NAME}.new")
    part.write_text(f"{made}\n", encoding="ascii")
    os.replace(part, path)
    log.msg(f"EC2: made this master's id, {made}, kept in {path}")
    return made
