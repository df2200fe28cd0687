"""The index page's longest wait: the web UI's index page asked again and again, by a
process of its own, while a measurement runs.

The asker was a thread of the bench's own process, which also delivers the pushes (16
threads at once in the scale run) and reads every event off the master's websocket; the
answers it timed then included its waits for its own process's GIL (in five scale runs
with both, its longest wait was 0.090 and 0.104 s where a separate process's was 0.046
and 0.044 s). A process of its own times the master's answer alone.

Run as a script, this module is the asker: it asks ``url`` until its stdin closes, then
prints the answer times as JSON.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

GOAL = "<= 0.1 s"
"""How long the index page may go unanswered, at most."""
PAUSE = 0.005
"""Seconds between an answer and the next ask."""


@contextlib.contextmanager
def watching(url: str) -> Iterator[list[float]]:
    """Asks ``url`` again and again while the block runs; the list it yields holds the
    answer times once the block has ended."""
    answers: list[float] = []
    asker = subprocess.Popen(
        [sys.executable, __file__, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        yield answers
    finally:
        output, _ = asker.communicate(timeout=60)  # closes its stdin: it stops asking
        if asker.returncode != 0:
            raise RuntimeError(f"the index page's asker failed ({asker.returncode})")
        answers.extend(json.loads(output))


def _ask(url: str) -> None:
    stop = threading.Event()

    def until_told() -> None:
        sys.stdin.read()  # the bench closes it when the measurement ends
        stop.set()

    threading.Thread(target=until_told, daemon=True).start()
    answers: list[float] = []
    while not stop.is_set():
        started = time.monotonic()
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
        answers.append(time.monotonic() - started)
        time.sleep(PAUSE)
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    _ask(sys.argv[1])
