# The last step of every build on the worker (config/builds/leftovers.py): it ends the
# processes the build left running, so none of them sees the builds that come after it.
# Run as `python3 -I -S -` (scripts.PYTHON) with this script on stdin, by the worker, which
# runs this build alone.
#
# The build's processes are the worker's descendants, this one aside: its commands have
# all ended, and the worker adopts the processes they orphaned (slave/adopt-leftovers.tac),
# so even a daemon stays among them. Linux only: elsewhere it says so and ends nothing.
# stdout carries one line per process ended, "ended <pid> <command>"; exit status 0.
from __future__ import annotations

import os
import signal
import sys


def main() -> int:
    if not os.path.isdir("/proc/self"):
        print("no /proc here: leftover processes are not looked for", file=sys.stderr)
        return 0
    worker, me = os.getppid(), os.getpid()
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        parent = int(text[text.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(name))
        # A process names itself: one line in the step's output, whatever it chose.
        commands[int(name)] = repr(text[text.index("(") + 1 : text.rindex(")")])[1:-1]
    ended = []
    waiting = [pid for pid in children.get(worker, []) if pid != me]
    while waiting:
        pid = waiting.pop()
        waiting += children.get(pid, [])
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue
        ended.append(f"ended {pid} {commands[pid]}")
    for line in ended:
        print(line)
    return 0


sys.exit(main())
