#!/bin/bash
# User data of an EC2 spot worker. cloud-init runs it as root on the first boot of an
# instance of the worker image (baked by cloud-init-base.sh, which installed everything),
# so it only configures and starts buildbot-worker. The master replaces each placeholder (a
# capitalised name between at signs) with a shell-quoted value (config/workers/userdata.py).
set -euo pipefail

MASTER_HOST=@MASTER_HOST@
MASTER_PORT=@MASTER_PORT@
# The certificate authority the worker verifies the master's worker port by (PEM; empty:
# the system's authorities). The port speaks TLS only.
MASTER_CA=@MASTER_CA@
WORKER_NAME=@WORKER_NAME@
WORKER_PASSWORD=@WORKER_PASSWORD@
WHEELHOUSE_URL=@WHEELHOUSE_URL@
# Python appended to the worker's buildbot.tac: it adopts what builds leave running
# (slave/adopt-leftovers.tac), and the workers' end of the mends (mends/nodelay_worker.tac).
WORKER_TAC=@WORKER_TAC@

WORKER_USER=buildbot
WORKER_HOME=/home/buildbot
VENV=/opt/buildbot-worker

# pip on the worker takes the project's prebuilt wheels from the wheelhouse first.
if [ -n "$WHEELHOUSE_URL" ]; then
  printf '[global]\nfind-links = %s\n' "$WHEELHOUSE_URL" >/etc/pip.conf
fi

# No GitHub token here: the master hands one to each build's checkout (README: Login
# with GitHub / GitHub App), and nothing of it stays on the worker's disk.

# Build steps run as the worker's user: keep them from the instance's metadata service,
# which would hand them this user data (the worker's password) and the instance's role.
iptables -A OUTPUT -d 169.254.169.254 -m owner --uid-owner "$WORKER_USER" -j REJECT

CONNECTION="tls:host=$MASTER_HOST:port=$MASTER_PORT"
if [ -n "$MASTER_CA" ]; then
  install -d -o "$WORKER_USER" -m 0755 "$WORKER_HOME/master-ca"
  printf '%s\n' "$MASTER_CA" >"$WORKER_HOME/master-ca/ca.pem"
  CONNECTION="$CONNECTION:trustRoots=$WORKER_HOME/master-ca"
fi

# A worker that cannot reach the master gives up after a while; the service then powers
# the instance off, and the master launched it to terminate on power-off.
runuser -u "$WORKER_USER" -- "$VENV/bin/buildbot-worker" create-worker --force \
  --maxretries=60 --connection-string="$CONNECTION" "$WORKER_HOME/worker" \
  "$MASTER_HOST:$MASTER_PORT" "$WORKER_NAME" "$WORKER_PASSWORD"
printf '%s\n' "$WORKER_TAC" >>"$WORKER_HOME/worker/buildbot.tac"
systemctl start buildbot-worker.service
