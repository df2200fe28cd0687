"""Running the master on this machine: not configuration, and not in the production image.

:mod:`local.cluster` starts a master and its local workers as real processes (``make
run``, the tests and the bench all use it); :mod:`local.worker` makes a worker that
connects over TLS; :mod:`local.run` is ``make run``.
"""
