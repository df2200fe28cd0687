# Appended to each worker's buildbot.tac once `buildbot-worker create-worker` has written it
# (by slave/cloud-init.sh on EC2, by local/cluster.py for local workers), where `s` is the
# tac's Worker: the worker's end of mends/nodelay.py. Twisted leaves Nagle's algorithm on,
# so each small message of a build would wait for the master's delayed ACK (40 ms) before
# leaving. A transport that is not TCP has no such option and is left alone.


def _sending_at_once(connected):
    def with_nodelay(perspective):
        set_nodelay = getattr(perspective.broker.transport, "setTcpNoDelay", None)
        if set_nodelay is not None:
            try:
                set_nodelay(True)
            except OSError:
                pass
        return connected(perspective)

    return with_nodelay


s.bf.gotPerspective = _sending_at_once(s.bf.gotPerspective)
