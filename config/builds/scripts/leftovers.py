# The last step of every build on the worker (config/builds/leftovers.py): it ends the
# processes the build left running, so none of them sees the builds that come after it.
# Run as `python3 - <clock>` with this script on stdin, where <clock> is when the build's
# checkout started, in the kernel's clock ticks since boot (checkout.sh prints it).
#
# A process is the build's when it runs as this user, started after <clock>, and is a
# descendant of this worker, or was orphaned (its parent is init, another user's process,
# or a systemd that reaped it). Processes under another of this user's processes that
# started before the build (another worker on the machine, a developer's shell) are left
# alone. Linux only: elsewhere it says so and ends nothing.
# stdout carries one line per process ended, "ended <pid> <command>", and exit status 0.
from __future__ import annotations

import os
import signal
import sys
from typing import Any


def stat(pid: int) -> dict[str, Any] | None:
    """(parent, start, command) of a process, from /proc; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
        uid = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
    command = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return {"ppid": int(fields[1]), "start": int(fields[19]), "uid": uid, "command": command}


def main(clock: int) -> int:
    if not os.path.isdir("/proc/self"):
        print("no /proc here: leftover processes are not looked for", file=sys.stderr)
        return 0
    me = os.getpid()
    uid = os.getuid()
    table: dict[int, dict[str, Any]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (found := stat(int(name))) is not None:
            table[int(name)] = found
    mine = set()
    pid = me
    while pid in table:  # this script and its ancestors: the worker among them
        mine.add(pid)
        pid = table[pid]["ppid"]

    def belongs_to_the_build(pid: int) -> bool:
        seen = set()
        while pid in table and pid not in seen:
            seen.add(pid)
            if pid in mine:
                return True  # under this worker
            found = table[pid]
            if pid == 1 or found["uid"] != uid:
                return True  # orphaned to init or another user's process
            if found["start"] < clock and found["command"] != "systemd":
                return False  # under a process older than the build, not ours
            pid = found["ppid"]
        return True

    ended = []
    for pid, found in sorted(table.items()):
        if pid in mine or found["uid"] != uid or found["start"] < clock:
            continue
        if belongs_to_the_build(found["ppid"]):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
            ended.append(f"ended {pid} {found['command']}")
    print("\n".join(ended))
    return 0


sys.exit(main(int(sys.argv[1])))
