"""An ec2 pool when AWS has no capacity: the next instance type, subnet or market is
tried within the same start, and nothing is left behind.

boto3 talks to moto_server through :class:`tests.fault_proxy.FaultProxy`, which answers
chosen ``RunInstances`` calls with AWS's capacity and price errors: real requests, real
error responses.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from buildbot.interfaces import LatentWorkerFailedToSubstantiate
from twisted.internet import defer

from config.workers.ec2.worker import SpotWorker
from tests.fault_proxy import SPOT, FaultProxy
from tests.harness import Moto
from tests.integration.test_ec2_worker import MotoWorkers, ec2_settings

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _proxy_for_trial(request: pytest.FixtureRequest, moto: Moto) -> Iterator[None]:
    with FaultProxy(moto.url) as proxy:
        request.instance.moto = moto
        request.instance.proxy = proxy
        yield


class ProxiedWorkers(MotoWorkers):
    """EC2 workers whose calls go through the fault proxy."""

    proxy: FaultProxy

    def pool(self, **options: Any) -> dict[str, Any]:
        """One ec2 pool of one worker, in two of moto's default subnets."""
        subnets = [s["SubnetId"] for s in self.ec2.describe_subnets()["Subnets"]][:2]
        self.subnets = subnets
        return {
            "name": "large",
            "kind": "ec2",
            "count": 1,
            "instance_types": ["c5.large", "m5.large"],
            "subnets": subnets,
            **options,
        }

    @defer.inlineCallbacks
    def start_pool_worker(self, **options: Any) -> Generator[Any, Any, SpotWorker]:
        settings = ec2_settings(
            self.proxy.url, workers=[self.pool(**options)], security_group=self.group_id
        )
        worker: SpotWorker = yield self.start_worker(settings)
        return worker

    def running(self) -> dict[str, Any]:
        [instance] = [i for i in self.instances() if i["State"]["Name"] == "running"]
        return instance


class CapacityTest(ProxiedWorkers):
    @defer.inlineCallbacks
    def test_no_capacity_moves_to_the_next_type_then_the_next_subnet(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_pool_worker()
        first, second = self.subnets
        self.proxy.refuse("InsufficientInstanceCapacity", InstanceType="c5.large")
        self.proxy.refuse("InsufficientInstanceCapacity", InstanceType="m5.large", SubnetId=first)

        yield worker.start_instance(None)

        assert self.proxy.launches() == [
            ("c5.large", first, "spot"),
            ("m5.large", first, "spot"),
            ("c5.large", second, "spot"),
            ("m5.large", second, "spot"),
        ]
        instance = self.running()
        assert (instance["InstanceType"], instance["SubnetId"]) == ("m5.large", second)
        assert instance["InstanceLifecycle"] == "spot"
        assert worker.properties.getProperty("instance_type") == "m5.large"
        assert worker.properties.getProperty("market") == "spot"
        self.assertLogged("large-1: no spot c5.large in .*: InsufficientInstanceCapacity")
        yield worker.stop_instance()
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_no_spot_at_the_price_falls_back_to_on_demand(self) -> Generator[Any, Any, None]:
        worker = yield self.start_pool_worker(market="spot-then-on-demand")
        self.proxy.refuse("SpotMaxPriceTooLow", status=400, **{SPOT: "spot"})

        yield worker.start_instance(None)

        markets = [market for _, _, market in self.proxy.launches()]
        assert markets == ["spot"] * 4 + ["on-demand"]
        instance = self.running()
        assert "InstanceLifecycle" not in instance  # an on-demand instance
        assert worker.properties.getProperty("market") == "on-demand"
        yield worker.stop_instance()
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_an_on_demand_pool_never_asks_for_spot(self) -> Generator[Any, Any, None]:
        worker = yield self.start_pool_worker(market="on-demand")
        yield worker.start_instance(None)
        assert self.proxy.launches() == [("c5.large", self.subnets[0], "on-demand")]
        assert "InstanceLifecycle" not in self.running()
        yield worker.stop_instance()
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_no_capacity_anywhere_fails_the_start_and_leaves_nothing(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_pool_worker(market="spot-then-on-demand")
        self.proxy.refuse("InstanceLimitExceeded", status=400, **{SPOT: "spot"})
        self.proxy.refuse("InsufficientInstanceCapacity", Action="RunInstances")

        with pytest.raises(LatentWorkerFailedToSubstantiate):
            yield worker.start_instance(None)

        assert len(self.proxy.launches()) == 8  # 2 types x 2 subnets x 2 markets
        self.assertLogged(r"large-1: no capacity for any offer \(spot c5.large in subnet-")
        self.assert_nothing_left()
        assert worker.instance_id is None

    @defer.inlineCallbacks
    def test_an_offer_without_capacity_is_tried_last_for_a_while(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_pool_worker(subnets=None)
        self.proxy.refuse("InsufficientInstanceCapacity", InstanceType="c5.large")
        yield worker.start_instance(None)
        yield worker.stop_instance()
        self.proxy.refusals.clear()  # capacity is back, but the master does not know yet
        self.proxy.calls.clear()

        yield worker.start_instance(None)

        assert self.proxy.launches() == [("m5.large", "-", "spot")]
        yield worker.stop_instance()
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_a_throttled_launch_is_asked_again_for_the_same_offer(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_pool_worker(subnets=None)
        self.proxy.refuse("RequestLimitExceeded", status=503, Action="RunInstances")

        def lift(**_: Any) -> None:
            """AWS stops throttling before the third try."""
            if len(self.proxy.launches()) >= 2:
                self.proxy.refusals.clear()

        worker.ec2().meta.events.register("before-send.ec2.RunInstances", lift)
        yield worker.start_instance(None)

        assert self.proxy.launches() == [("c5.large", "-", "spot")] * 3
        [instance] = self.instances()  # one client token, one instance
        assert instance["InstanceType"] == "c5.large"
        yield worker.stop_instance()
        self.assert_nothing_left()


class CredentialsTest(ProxiedWorkers):
    """AWS keys are optional: boto3's default chain, as on a master with an instance role."""

    @defer.inlineCallbacks
    def test_without_keys_the_master_signs_with_its_environment_and_gives_the_role(
        self,
    ) -> Generator[Any, Any, None]:
        self.moto.client("iam").create_instance_profile(InstanceProfileName="buildbot-worker")
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "AKIAFROMTHEINSTANCE"),
            ("AWS_SECRET_ACCESS_KEY", "from-the-instance"),
        ):
            self.addCleanup(os.environ.pop, name, None)
            os.environ[name] = value
        pool = self.pool(subnets=None, instance_profile="buildbot-worker")
        settings = ec2_settings(
            self.proxy.url,
            workers=[pool],
            security_group=self.group_id,
            access_key_id=None,
            secret_access_key=None,
        )
        worker = yield self.start_worker(settings)

        yield worker.start_instance(None)

        assert self.proxy.access_keys == {"AKIAFROMTHEINSTANCE"}
        profile = self.running()["IamInstanceProfile"]["Arn"]
        assert profile.endswith(":instance-profile/buildbot-worker")
        yield worker.stop_instance()
        self.assert_nothing_left()


class CostTest(ProxiedWorkers):
    """Each instance's lifetime and price, as the cost figures and build properties see them."""

    def zones(self) -> list[str]:
        return [z["ZoneName"] for z in self.ec2.describe_availability_zones()["AvailabilityZones"]]

    @defer.inlineCallbacks
    def test_a_spot_instance_costs_its_price_at_launch_for_its_lifetime(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_pool_worker(subnets=None, instance_types=["c5.large"])
        self.proxy.spot_price("c5.large", self.zones(), 0.042)

        yield worker.start_instance(None)
        assert worker.properties.getProperty("instance_price") == 0.042
        self.reactor.advance(1200)
        assert worker.usage() == {("large", "c5.large", "spot"): (1200.0, pytest.approx(0.014))}
        self.reactor.advance(600)
        yield worker.stop_instance()
        self.reactor.advance(600)  # stopped: no more seconds count

        [(key, (seconds, dollars))] = worker.usage().items()
        assert (key, seconds) == (("large", "c5.large", "spot"), 1800.0)
        assert dollars == pytest.approx(0.021)
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_an_on_demand_instance_costs_the_price_the_settings_give(
        self,
    ) -> Generator[Any, Any, None]:
        settings = ec2_settings(
            self.proxy.url,
            workers=[self.pool(subnets=None, market="on-demand")],
            security_group=self.group_id,
            on_demand_prices={"c5.large": 0.085},
        )
        worker = yield self.start_worker(settings)
        for _ in range(2):
            yield worker.start_instance(None)
            self.reactor.advance(3600)
            yield worker.stop_instance()

        assert worker.usage() == {("large", "c5.large", "on-demand"): (7200.0, pytest.approx(0.17))}
        assert not any(c.get("Action") == "DescribeSpotPriceHistory" for c in self.proxy.calls)

    @defer.inlineCallbacks
    def test_an_unknown_price_counts_seconds_and_no_dollars(self) -> Generator[Any, Any, None]:
        worker = yield self.start_pool_worker(subnets=None, market="on-demand")
        yield worker.start_instance(None)
        self.reactor.advance(60)
        assert worker.usage() == {("large", "c5.large", "on-demand"): (60.0, 0.0)}
        assert worker.properties.getProperty("instance_price") is None
        self.assertLogged("large-1: no price known for on-demand c5.large")
        yield worker.stop_instance()
