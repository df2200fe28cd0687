"""Our changes to Buildbot's internals, fenced off from ``config/``.

``config/`` says what our CI is through Buildbot's public API and documented extension
points. Whatever replaces, wraps or reaches into a non-public Buildbot name lives here
instead, one module per mend, each saying in its docstring what it replaces, the defect
or cost (with the upstream issue where there is one), its measured gain and when to
remove it. ``master.cfg`` installs them with one call, :func:`install`, before the
configuration is built; the version guard (``mends/guard.py``) refuses, in one line, a
Buildbot other than the one they were verified on. ``buildmaster.mends: false`` runs
stock Buildbot, with none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

NAMES = (
    "rest_writes",
    "tree_stable",
    "latent_workers",
    "nodelay",
    "build_start",
    "steps_order",
    "log_batches",
    "builder_rows",
    "build_properties",
    "running_rows",
    "data_paths",
    "plain_renders",
    "buildset_rows",
)
"""Every mend, by module name; ``buildmaster.mends_off`` takes these names."""


def module(name: str) -> ModuleType:
    """The module of the mend ``name``."""
    if name not in NAMES:
        raise KeyError(f"no mend named {name!r}")
    return importlib.import_module(f"mends.{name}")


def chosen(enabled: bool = True, off: Iterable[str] = ()) -> list[str]:
    """The mends to install: all but those ``off``, or none when not ``enabled``."""
    left_out = set(off)
    return [name for name in NAMES if enabled and name not in left_out]


def worker_tac(enabled: bool = True, off: Iterable[str] = ()) -> str:
    """Python to append to each worker's ``buildbot.tac``: the workers' end of the chosen
    mends (``nodelay_worker.tac``), or nothing."""
    if "nodelay" not in chosen(enabled, off):
        return ""
    return (Path(__file__).resolve().parent / "nodelay_worker.tac").read_text()


def install(enabled: bool = True, off: Iterable[str] = ()) -> None:
    """Install every mend but those ``off`` (none when not ``enabled``), once per process.

    The guard runs first: on a Buildbot the mends were not verified on, nothing is
    installed and the configuration fails with the guard's one line. A mend left out of
    a reconfig stays in place until the master restarts (Python cannot take it back
    safely under running builds).
    """
    names = chosen(enabled, off)
    if not names:
        return
    from mends import guard  # here: the guard imports this package

    guard.check(names)
    for name in names:
        module(name).install()
