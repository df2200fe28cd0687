# Appended to each worker's buildbot.tac (by slave/cloud-init.sh on EC2, by local/cluster.py
# for local workers): the worker adopts the processes its builds leave behind. Linux hands
# an orphaned process to its nearest "child subreaper" ancestor instead of to init, so with
# the worker one, a process a build daemonized (setsid, a double fork) stays under the
# worker, where the build's last step finds and ends it (config/builds/leftovers.py) and
# the worker reaps it, like any of its own children Twisted does not know.
import ctypes as _ctypes
import os as _os

from twisted.internet import process as _process
from twisted.internet import task as _task

PR_SET_CHILD_SUBREAPER = 36


def _reap_adopted():
    """Collect the exit of adopted children that have ended (Twisted waits for its own)."""
    me = _os.getpid()
    for name in _os.listdir("/proc"):
        if not name.isdigit() or int(name) in _process.reapProcessHandlers:
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        state, parent = text[text.rindex(")") + 2 :].split()[:2]
        if state == "Z" and int(parent) == me:
            try:
                _os.waitpid(int(name), _os.WNOHANG)
            except ChildProcessError:
                pass


def _adopt_leftovers():
    try:
        libc = _ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
        _task.LoopingCall(_reap_adopted).start(10, now=False)


_adopt_leftovers()
