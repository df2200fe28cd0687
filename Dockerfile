# The build master's image: the pinned requirements in a venv, this repository's master.cfg,
# config/ and mends/ packages, and an entry point that upgrades the master on the data volume
# before running it in the foreground. Settings come at run time, as BUILDBOT_CONFIG_FILE
# (a file mounted read-only, the default of fabfile.py) or BUILDBOT_CONFIG (JSON).
#
#   ./build-images
#
# build-images first builds the wheels of the pinned requirements into .wheels/ on the
# building machine (where pip has its network and certificates), so the image installs
# them with no index at all: the same bytes wherever it is built. BASE_IMAGE is any
# Debian-based image with Python 3.11 and its venv module; where Docker cannot pull,
# deploy/make-base-image makes one locally.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS venv
COPY requirements.txt constraints.txt /srv/buildmaster/app/
COPY .wheels /tmp/wheels
RUN python3 -m venv /srv/buildmaster/venv \
    && /srv/buildmaster/venv/bin/pip install --no-cache-dir --no-compile --no-index \
       --find-links=/tmp/wheels -r /srv/buildmaster/app/requirements.txt \
       -c /srv/buildmaster/app/constraints.txt

FROM ${BASE_IMAGE}

# git: the master's GitPoller runs it; caddy: the HTTPS proxy fabfile.py runs beside the
# master in a container of this image. The base's own packages are what we pin to.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates caddy \
    && rm -rf /var/lib/apt/lists/*

ENV APP=/srv/buildmaster/app \
    DATA=/srv/buildmaster/data \
    VIRTUAL_ENV=/srv/buildmaster/venv \
    PATH=/srv/buildmaster/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8

# A fixed uid: fabfile.py makes the mounted settings file readable by this uid only.
RUN groupadd --system --gid 10001 buildbot \
    && useradd --system --uid 10001 --gid buildbot --home-dir /srv/buildmaster \
       --shell /usr/sbin/nologin buildbot

COPY --from=venv /srv/buildmaster/venv /srv/buildmaster/venv

COPY master.cfg /srv/buildmaster/app/
COPY config /srv/buildmaster/app/config
COPY mends /srv/buildmaster/app/mends
# The EC2 workers' user-data template and the tac lines it appends, read when the
# configuration is built.
COPY slave/cloud-init.sh slave/adopt-leftovers.tac /srv/buildmaster/app/slave/
COPY deploy/__init__.py deploy/health.py deploy/running.py /srv/buildmaster/app/deploy/
COPY deploy/entrypoint /usr/local/bin/buildmaster-entrypoint
RUN mkdir -p "$DATA" && chown buildbot:buildbot "$DATA" && chmod 0750 "$DATA"

USER 10001:10001
WORKDIR /srv/buildmaster/app
# The master directory (buildbot.tac, the SQLite database, twistd.log) lives here.
VOLUME ["/srv/buildmaster/data"]
# Web UI and REST API; workers (the defaults of buildmaster.web_port and worker_port).
EXPOSE 8010 9989

HEALTHCHECK --interval=10s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python3", "-m", "deploy.health"]

ENTRYPOINT ["/usr/local/bin/buildmaster-entrypoint"]
