# Appended to each worker's buildbot.tac once `buildbot-worker create-worker` has written it
# (by slave/cloud-init.sh on EC2, by config/local.py for local workers), where `s` is the
# tac's Worker.
#
# Twisted leaves Nagle's algorithm on, so each small message of a build would wait for the
# master's delayed ACK (40 ms) before leaving. The master sends at once on its end of the
# connection (config/nodelay.py); this makes the worker do the same on its end.


def _sending_at_once(connected):
    def with_nodelay(perspective):
        perspective.broker.transport.setTcpNoDelay(True)
        return connected(perspective)

    return with_nodelay


s.bf.gotPerspective = _sending_at_once(s.bf.gotPerspective)
