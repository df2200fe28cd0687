"""Renders the worker's user-data template, ``slave/cloud-init.sh``.

The template is a shell script whose values are ``@NAME@`` placeholders; each becomes a
shell-quoted value, so a password or token can never break out of its assignment. The
script stays valid shell (and shellcheck-clean) as written.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path

import mends
from config.settings import Settings

SLAVE = Path(__file__).resolve().parents[2] / "slave"
TEMPLATE = SLAVE / "cloud-init.sh"
_PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


ADOPT_LEFTOVERS = SLAVE / "adopt-leftovers.tac"


def worker_tac(settings: Settings) -> str:
    """Python appended to every worker's ``buildbot.tac``: the worker adopts what its builds
    leave running (``slave/adopt-leftovers.tac``), and the workers' end of the mends the
    settings choose (``mends/nodelay_worker.tac``)."""
    master = settings.buildmaster
    return ADOPT_LEFTOVERS.read_text() + mends.worker_tac(master.mends, master.mends_off)


def placeholders(template: str) -> set[str]:
    """The names the template asks for."""
    return set(_PLACEHOLDER.findall(template))


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with every placeholder replaced by its quoted value.

    Raises ``KeyError`` naming the placeholders without a value (and ``ValueError`` for
    values the template does not use), so a template and its caller cannot drift apart.
    """
    wanted = placeholders(template)
    if missing := sorted(wanted - values.keys()):
        raise KeyError(f"no value for {', '.join(missing)} in the user-data template")
    if unused := sorted(values.keys() - wanted):
        raise ValueError(f"the user-data template does not use {', '.join(unused)}")
    return _PLACEHOLDER.sub(lambda m: shlex.quote(values[m.group(1)]), template)
