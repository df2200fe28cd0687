"""``/metrics``: what the master is doing, in Prometheus' text format, on the web UI's port.

Queue and running builds are read from Buildbot's data API at each scrape; finished
builds and their durations are counted as they finish, the statements sent to the
database as they are sent (counters, as Prometheus expects: they start again at zero
when the master restarts). EC2 numbers come from the spot workers' own state, so a
scrape never calls AWS.
"""

from __future__ import annotations

import datetime
from collections import Counter as Tally
from collections.abc import Generator, Iterator
from typing import Any

from buildbot.data import resultspec
from buildbot.process.results import statusToString
from buildbot.worker.latent import States
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import server
from twisted.web.resource import Resource

from config.database import STATEMENTS
from config.settings import Settings
from config.web.auth import PasswordAuth, passwords
from config.web.pages import WebPage
from config.workers.ec2.worker import SpotWorker

# Builds take from seconds (lint) to an hour (the acceptance tests of the original).
DURATION_BUCKETS = (10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
STARTING = (States.SUBSTANTIATING, States.SUBSTANTIATING_STARTING)


def _seconds(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime.datetime) else float(value)


class Snapshot:
    """Gauges of one scrape, gathered beforehand (collectors cannot wait for the data API)."""

    def __init__(self) -> None:
        self.pending: Tally[str] = Tally()
        self.running: Tally[tuple[str, str]] = Tally()
        self.instances = 0
        self.starting = 0
        self.ec2_usage: dict[tuple[str, str, str], tuple[float, float]] = {}

    def collect(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "buildbot_builds_pending", "Build requests waiting for a worker", labels=["builder"]
        )
        for builder, count in sorted(self.pending.items()):
            pending.add_metric([builder], count)
        running = GaugeMetricFamily(
            "buildbot_builds_running", "Builds running now", labels=["builder", "worker"]
        )
        for (builder, worker), count in sorted(self.running.items()):
            running.add_metric([builder, worker], count)
        yield pending
        yield running
        yield GaugeMetricFamily(
            "buildbot_ec2_instances_running",
            "EC2 instances the spot workers hold",
            value=self.instances,
        )
        yield GaugeMetricFamily(
            "buildbot_ec2_instances_starting",
            "EC2 instances asked for and not yet running",
            value=self.starting,
        )
        labels = ["pool", "instance_type", "market"]
        seconds = CounterMetricFamily(
            "buildbot_ec2_instance_seconds",
            "Seconds EC2 instances ran since the master started (the running ones so far)",
            labels=labels,
        )
        dollars = CounterMetricFamily(
            "buildbot_ec2_estimated_dollars",
            "Their estimated cost in USD: spot price at launch, or aws.on_demand_prices",
            labels=labels,
        )
        for key, (spent_seconds, spent_dollars) in sorted(self.ec2_usage.items()):
            seconds.add_metric(list(key), spent_seconds)
            dollars.add_metric(list(key), spent_dollars)
        yield seconds
        yield dollars


class Metrics(WebPage):
    """Serves ``/metrics`` (behind a login when ``checker`` is given) and counts builds."""

    path = "metrics"

    @defer.inlineCallbacks
    def reconfigService(self, checker: PasswordAuth | None = None) -> Generator[Any, Any, None]:
        self.checker = checker
        if not hasattr(self, "finished"):
            self._builder_names: dict[int, str] = {}
            self.finished = Counter(
                "buildbot_builds_finished",
                "Builds finished since the master started, by result",
                ["builder", "result"],
                registry=None,
            )
            self.durations = Histogram(
                "buildbot_build_duration_seconds",
                "How long finished builds took",
                ["builder"],
                buckets=DURATION_BUCKETS,
                registry=None,
            )
        yield super().reconfigService()

    @defer.inlineCallbacks
    def startService(self) -> Generator[Any, Any, None]:
        self._finishing = yield self.master.mq.startConsuming(
            self._build_finished, ("builds", None, "finished")
        )
        yield super().startService()

    @defer.inlineCallbacks
    def stopService(self) -> Generator[Any, Any, None]:
        yield self._finishing.stopConsuming()
        yield super().stopService()

    @defer.inlineCallbacks
    def _builder_name(self, builderid: int) -> Generator[Any, Any, str]:
        """A builder's name, read once: Buildbot never gives an id another name."""
        if builderid not in self._builder_names:
            builder = yield self.master.data.get(("builders", builderid))
            if not builder:
                return str(builderid)
            self._builder_names[builderid] = builder["name"]
        return self._builder_names[builderid]

    @defer.inlineCallbacks
    def _build_finished(self, key: Any, build: dict[str, Any]) -> Generator[Any, Any, None]:
        name = yield self._builder_name(build["builderid"])
        self.finished.labels(name, statusToString(build["results"])).inc()
        if build.get("started_at") and build.get("complete_at"):
            took = _seconds(build["complete_at"]) - _seconds(build["started_at"])
            self.durations.labels(name).observe(max(took, 0.0))

    @defer.inlineCallbacks
    def snapshot(self) -> Generator[Any, Any, Snapshot]:
        found = Snapshot()
        builders = yield self.master.data.get(("builders",))
        workers = yield self.master.data.get(("workers",))
        builder_names = {b["builderid"]: b["name"] for b in builders}
        worker_names = {w["workerid"]: w["name"] for w in workers}
        requests = yield self.master.data.get(
            ("buildrequests",),
            filters=[
                resultspec.Filter("complete", "eq", [False]),
                resultspec.Filter("claimed", "eq", [False]),
            ],
        )
        for request in requests:
            found.pending[builder_names.get(request["builderid"], "?")] += 1
        running = yield self.master.data.get(
            ("builds",), filters=[resultspec.Filter("complete", "eq", [False])]
        )
        for build in running:
            where = (
                builder_names.get(build["builderid"], "?"),
                worker_names.get(build["workerid"], "?"),
            )
            found.running[where] += 1
        for worker in self.master.workers.workers.values():
            if isinstance(worker, SpotWorker):
                if worker.instance_id is not None:
                    found.instances += 1
                elif worker.state in STARTING:
                    found.starting += 1
                for key, (seconds, dollars) in worker.usage().items():
                    before = found.ec2_usage.get(key, (0.0, 0.0))
                    found.ec2_usage[key] = (before[0] + seconds, before[1] + dollars)
        return found

    @defer.inlineCallbacks
    def text(self) -> Generator[Any, Any, bytes]:
        """The whole exposition for one scrape."""
        snapshot = yield self.snapshot()
        registry = CollectorRegistry(auto_describe=False)
        for collector in (snapshot, self.finished, self.durations, STATEMENTS):
            registry.register(collector)
        return generate_latest(registry)

    def guarded(self) -> bool:
        return self.checker is None  # with a login of its own (for Prometheus), none else

    def page(self) -> Resource:
        page = MetricsPage(self)
        if self.checker is None:
            return page
        protected: Resource = self.master.www.setupProtectedResource(page, [self.checker])
        return protected


class MetricsPage(Resource):
    isLeaf = True

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.metrics = metrics

    def render_GET(self, request: Any) -> Any:
        def answer(text: bytes) -> None:
            request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode())
            request.write(text)
            request.finish()

        def failed(failure: Any) -> None:
            Logger().failure("metrics: could not gather", failure)
            request.setResponseCode(500)
            request.finish()

        self.metrics.text().addCallbacks(answer, failed)
        return server.NOT_DONE_YET


def build(settings: Settings) -> Metrics:
    """The metrics page, asking for a user of ``auth.users`` when ``auth.metrics_login``."""
    return Metrics(
        checker=PasswordAuth(passwords(settings)) if settings.auth.metrics_login else None,
        name="metrics",
    )
