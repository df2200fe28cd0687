#!/bin/bash
# Bakes the worker image. slave/build-base gives this to a fresh instance of a current
# Fedora cloud image as user data; cloud-init runs it as root on first boot. It installs
# what builds need, then powers the instance off, and build-base makes the AMI
# fedora-buildslave-base/<date> from the stopped instance. Workers started from that image
# only run slave/cloud-init.sh.
set -euxo pipefail

WORKER_USER=buildbot
WORKER_HOME=/home/buildbot
VENV=/opt/buildbot-worker
BUILDBOT_WORKER_VERSION=4.3.0

dnf -y upgrade --refresh
dnf -y install git python3 python3-devel python3-pip tox gcc make \
  libffi-devel openssl-devel podman podman-docker iptables-nft

id "$WORKER_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$WORKER_USER"

# buildbot-worker in its own venv, apart from the Pythons that builds use.
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
# twisted[tls]: the worker port speaks TLS only, and the worker verifies its certificate.
"$VENV/bin/pip" install --quiet "buildbot-worker==$BUILDBOT_WORKER_VERSION" "twisted[tls]"

# Warm the build user's pip cache with the tools every build installs.
runuser -u "$WORKER_USER" -- python3 -m pip wheel --quiet \
  --wheel-dir "$WORKER_HOME/.cache/wheels" pip setuptools wheel virtualenv tox

# The worker runs as a service that cloud-init.sh starts. When it ends (the master asks it
# to shut down before terminating the instance, or it gave up reaching the master), the
# instance powers off; workers are launched to terminate on power-off.
cat >/etc/systemd/system/buildbot-worker.service <<UNIT
[Unit]
Description=Buildbot worker
Wants=network-online.target
After=network-online.target

[Service]
User=$WORKER_USER
WorkingDirectory=$WORKER_HOME
ExecStart=$VENV/bin/buildbot-worker start --nodaemon $WORKER_HOME/worker
ExecStopPost=+/usr/bin/systemctl --no-block poweroff
UNIT
systemctl daemon-reload

# The image's instances must run their own user data on first boot again.
cloud-init clean --logs
dnf clean all
poweroff
