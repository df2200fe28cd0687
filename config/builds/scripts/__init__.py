"""The plumbing steps' git work, as shell scripts run on the worker, and the Python
scripts of the steps that end a build's processes and weigh its uploads.

Each script (``checkout.sh``, ``merge_forward.sh``) is one remote command: the worker's
``sh`` reads it on stdin, traces each git command to the step's log, and says what it did
in a few ``word value`` lines on stdout, which :func:`printed` reads. Each file's header
says what it takes, prints and exits with.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

PYTHON = ["python3", "-I", "-S", "-"]
"""How a step runs one of the Python scripts (``leftovers.py``, ``sizeof.py``), read on
stdin, in the build's tree: isolated (``-I``: no ``PYTHON*`` variables, no user
site-packages in the build's home, not the tree on the module path), so nothing the build
wrote (a ``__future__.py`` in its tree, a ``.pth`` file in its home) runs in the script
that ends its processes or weighs its uploads; without ``site`` (``-S``), which the
scripts do not need."""


def script(name: str) -> str:
    """The text of the worker-side script ``name``."""
    return (HERE / name).read_text()


def printed(stdout: str) -> dict[str, list[str]]:
    """The ``word value`` lines a script printed, by word: ``{"base": ["abc123"]}``."""
    lines: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        word, _, value = line.partition(" ")
        lines.setdefault(word, []).append(value)
    return lines


def repeated(lines: dict[str, list[str]], *words: str) -> list[str]:
    """Those of ``words`` printed more than once. A script prints each once: more means
    something else wrote to its output (a process it started that kept the descriptor),
    and none of them can be taken for the script's."""
    return [word for word in words if len(lines.get(word, [])) > 1]
