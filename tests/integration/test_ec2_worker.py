"""EC2 spot workers against a real moto_server: start, stop, and every way a start fails.

The worker is our real ``SpotWorker`` built from settings by ``config.workers``, inside
Buildbot's own fake master and test reactor (``TestReactorMixin``): Buildbot's latent-worker
state machine and timers run as in a master, the clock is ours to advance, and boto3 talks
HTTP to moto_server. Where moto cannot produce a state (it runs every instance at once and
never throttles), one botocore call is answered by a hook instead, and the test says so.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, cast

import pytest
from botocore.awsrequest import AWSResponse
from buildbot.interfaces import LatentWorkerFailedToSubstantiate
from buildbot.process.properties import Properties
from buildbot.test.fake import fakeprotocol
from buildbot.test.fake.reactor import NonThreadPool
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.util.logging import LoggingMixin
from buildbot.worker.latent import AbstractLatentWorker
from twisted.internet import defer
from twisted.python import threadpool
from twisted.trial import unittest

import mends
from config.settings import Settings, validate
from config.workers import pools, userdata
from config.workers.ec2.calls import Ec2Calls
from config.workers.ec2.master_id import MASTER_ID_TAG, master_id
from config.workers.ec2.retry import Backoff
from config.workers.ec2.worker import SpotWorker
from tests.fake_master import make_master
from tests.harness import MOTO_REGION, Moto
from tests.instances import assignments, user_data
from tests.stock import stock

OURS = "111122223333"
PRODUCTION_IMAGE = "ami-00001001000001001"  # newest promoted fedora-buildslave-base/<date>
NEWEST_IMAGE = "ami-00001002000001002"  # newer, but not promoted
TOKEN = "ghp_test-token"


MASTER_CA = "-----BEGIN CERTIFICATE-----\nthe worker port's authority\n-----END CERTIFICATE-----\n"


def ec2_settings(moto_url: str, workers: Any = None, **aws: Any) -> Settings:
    """Settings with EC2 workers on moto: by default one pool of two (``workers``: pools)."""
    return validate(
        {
            "buildmaster": {"host": "build.example.com", "worker_port": 9989},
            "auth": {"users": {"admin": "admin-pw"}, "admins": ["admin"]},
            "workers": workers or {"kind": "ec2", "count": 2},
            "github": {"token": TOKEN, "webhook_secret": "hook-secret"},
            "aws": {
                "region": MOTO_REGION,
                "access_key_id": "testing",
                "secret_access_key": "testing",
                "endpoint_url": moto_url,
                "ami_name": "fedora-buildslave-base",
                "ami_owners": [OURS],
                "instance_type": "c5.large",
                "max_spot_price": 0.1,
                "keypair": "hybrid-master",
                "security_group": "ssh",
                "build_wait_timeout": 300,
                "start_timeout": 2,
                "connect_timeout": 60,
                "wheelhouse_url": "https://wheels.example.com/",
                **aws,
            },
            "projects": [
                {
                    "name": "p",
                    "repository": "https://example.com/p.git",
                    "builders": [{"name": "b", "steps": [{"kind": "run", "command": ["true"]}]}],
                }
            ],
        }
    )


@pytest.fixture(autouse=True)
def _moto_for_trial(request: pytest.FixtureRequest, moto: Moto) -> None:
    request.instance.moto = moto


def answer_with(client: Any, operation: str, respond: Callable[[], AWSResponse | None]) -> None:
    """Let ``respond`` answer ``operation`` before it reaches moto (None: pass it through).

    botocore's retry logic still sees these answers, as it would see AWS's.
    """

    def hook(**_: Any) -> AWSResponse | None:
        return respond()

    client.meta.events.register(f"before-send.ec2.{operation}", hook)


def aws_response(status: int, xml: str) -> AWSResponse:
    """An HTTP answer as EC2 would send it."""

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield xml.encode()

    return AWSResponse("https://ec2.test/", status, {}, Raw())


def aws_error(code: str, status: int = 503) -> AWSResponse:
    return aws_response(
        status,
        f"<Response><Errors><Error><Code>{code}</Code><Message>test: {code}</Message>"
        "</Error></Errors><RequestID>test</RequestID></Response>",
    )


@defer.inlineCallbacks
def outcome(substantiation: defer.Deferred[Any]) -> Generator[Any, Any, Any]:
    """What a substantiation ended with: Buildbot delivers some failures as values."""
    try:
        return (yield substantiation)
    except Exception as error:
        return error


class ResizableNonThreadPool(NonThreadPool):
    def adjustPoolsize(self, minthreads: int | None = None, maxthreads: int | None = None) -> None:
        pass


class MotoWorkers(TestReactorMixin, LoggingMixin, unittest.TestCase):
    """A fake master (Buildbot's test helper) whose EC2 workers talk to moto_server."""

    moto: Moto

    @defer.inlineCallbacks
    def setUp(self) -> Generator[Any, Any, None]:  # type: ignore[override]
        self.setup_test_reactor()
        patch = cast(Any, self).patch  # trial's, untyped
        # Buildbot's stand-in runs each call at once, in the test's thread; ours resizes.
        patch(threadpool, "ThreadPool", ResizableNonThreadPool)
        # Passing refusals are asked again at once (a wait of 0 runs without the clock);
        # failed terminates after a second of the test's clock.
        patch(Ec2Calls, "backoff", Backoff(first=0.0, cap=0.0))
        patch(Ec2Calls, "terminate_backoff", Backoff(first=1.0, cap=1.0))
        self.setUpLogging()
        mends.install()  # as master.cfg does: the latent-worker mends are part of the worker
        self.ec2 = self.moto.client("ec2")
        # What the operator makes once; the master must neither need to nor do it.
        self.group_id = self.ec2.create_security_group(
            GroupName="ssh", Description="ssh to workers"
        )["GroupId"]
        self.ec2.create_key_pair(KeyName="hybrid-master")
        # What AWS lately had no capacity for is remembered per master process.
        SpotWorker.short_of_capacity.clear()
        self.master = yield make_master(
            self,
            wantData=True,
            with_secrets={
                "aws.access_key_id": "testing",
                "aws.secret_access_key": "testing",
                "github.token": TOKEN,
            },
        )

    @defer.inlineCallbacks
    def start_worker(
        self, settings: Settings | None = None, **aws: Any
    ) -> Generator[Any, Any, SpotWorker]:
        """The first worker of ``settings`` (by default :func:`ec2_settings` with ``aws``),
        running under the fake master."""
        settings = settings or ec2_settings(self.moto.url, **aws)
        worker = pools.build(settings, MASTER_CA)[0]
        assert isinstance(worker, SpotWorker)
        worker.poll_interval = 0.05
        yield worker.setServiceParent(self.master.workers)
        yield self.master.startService()
        self.addCleanup(self.stop_master)
        return worker

    def stop_master(self) -> defer.Deferred[None] | None:
        return self.master.stopService() if self.master.running else None

    def instances(self) -> list[dict[str, Any]]:
        found = self.ec2.describe_instances()["Reservations"]
        return [i for r in found for i in r["Instances"]]

    def assert_nothing_left(self) -> None:
        alive = [
            (i["InstanceId"], i["State"]["Name"])
            for i in self.instances()
            if i["State"]["Name"] != "terminated"
        ]
        assert alive == []
        requests = self.ec2.describe_spot_instance_requests(
            Filters=[{"Name": "state", "Values": ["open", "active"]}]
        )["SpotInstanceRequests"]
        assert requests == []
        # No network interface of its own: each belongs to an instance (moto keeps a
        # terminated instance's interface, which AWS deletes with the instance).
        interfaces = self.ec2.describe_network_interfaces()["NetworkInterfaces"]
        assert all(n.get("Attachment", {}).get("InstanceId") for n in interfaces), interfaces


class SpotWorkerTest(MotoWorkers):
    # --- the good path ----------------------------------------------------------------

    @defer.inlineCallbacks
    def test_start_launches_spot_instance_of_newest_production_image(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        groups_before = self.ec2.describe_security_groups()["SecurityGroups"]
        keys_before = self.ec2.describe_key_pairs()["KeyPairs"]

        sent: list[dict[str, Any]] = []
        worker.ec2().meta.events.register(
            "provide-client-params.ec2.RunInstances", lambda params, **_: sent.append(params)
        )

        started = yield worker.start_instance(None)

        assert started is True
        # What moto does not report back: the one-time spot terms we asked for.
        [request] = sent
        assert request["InstanceMarketOptions"] == {
            "MarketType": "spot",
            "SpotOptions": {
                "MaxPrice": "0.1",
                "SpotInstanceType": "one-time",
                "InstanceInterruptionBehavior": "terminate",
            },
        }
        assert request["InstanceInitiatedShutdownBehavior"] == "terminate"
        [instance] = self.instances()
        # IMDSv2 only, and only from the instance itself.
        assert instance["MetadataOptions"]["HttpTokens"] == "required"
        assert instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
        assert worker.instance_id == instance["InstanceId"]
        assert instance["State"]["Name"] == "running"
        assert instance["InstanceLifecycle"] == "spot"
        assert instance["ImageId"] == PRODUCTION_IMAGE
        assert instance["InstanceType"] == "c5.large"
        assert instance["KeyName"] == "hybrid-master"
        assert [g["GroupName"] for g in instance["SecurityGroups"]] == ["ssh"]
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["Name"] == "buildbot worker-1"
        assert tags["buildbot-master"] == "build.example.com"
        encoded = self.ec2.describe_instance_attribute(
            InstanceId=instance["InstanceId"], Attribute="userData"
        )["UserData"]["Value"]
        template = userdata.TEMPLATE.read_text()
        assert base64.b64decode(encoded).decode() == userdata.render(
            template,
            {
                "MASTER_HOST": "build.example.com",
                "MASTER_PORT": "9989",
                "MASTER_CA": MASTER_CA,
                "WORKER_NAME": "worker-1",
                "WORKER_PASSWORD": worker.renewable_password.value,
                "WHEELHOUSE_URL": "https://wheels.example.com/",
                "WORKER_TAC": userdata.worker_tac(ec2_settings(self.moto.url)),
            },
        )
        assert (
            f"WORKER_PASSWORD={worker.renewable_password.value}\n"
            in base64.b64decode(encoded).decode()
        )
        assert TOKEN not in base64.b64decode(encoded).decode()
        # The master made no key pair or security group of its own.
        assert self.ec2.describe_key_pairs()["KeyPairs"] == keys_before
        assert self.ec2.describe_security_groups()["SecurityGroups"] == groups_before

        yield worker.stop_instance()

        [instance] = self.instances()
        assert instance["State"]["Name"] == "terminated"
        assert worker.instance_id is None
        self.assertLogged("worker-1: terminating instance")

    @defer.inlineCallbacks
    def test_without_production_only_the_newest_image_is_taken(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker(ami_production_only=False)
        yield worker.start_instance(None)
        [instance] = self.instances()
        assert instance["ImageId"] == NEWEST_IMAGE
        yield worker.stop_instance()
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_subnet_and_group_id_place_the_instance_in_a_vpc(self) -> Generator[Any, Any, None]:
        vpc = self.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        group = self.ec2.create_security_group(
            GroupName="workers", Description="workers", VpcId=vpc
        )["GroupId"]
        worker = yield self.start_worker(subnet_id=subnet, security_group=group)
        yield worker.start_instance(None)
        [instance] = self.instances()
        assert instance["SubnetId"] == subnet
        assert [g["GroupId"] for g in instance["SecurityGroups"]] == [group]
        yield worker.stop_instance()
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_start_stop_cycles_leave_nothing_running(self) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        for _ in range(3):
            yield worker.start_instance(None)
            yield worker.stop_instance()
        assert len(self.instances()) == 3
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_each_instance_gets_a_new_password_kept_over_a_reconfig_while_it_runs(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        registered = worker.password  # what the worker port renders at each login

        def carried() -> str:
            assert worker.instance_id is not None
            return assignments(user_data(self.ec2, worker.instance_id))["WORKER_PASSWORD"]

        def accepted() -> Any:
            return Properties().render(registered)

        yield worker.start_instance(None)
        first = carried()
        assert len(first) >= 32
        assert (yield accepted()) == first
        worker.state = worker.state.SUBSTANTIATING_STARTING
        sibling = pools.build(ec2_settings(self.moto.url, instance_type="c5.xlarge"))[0]

        yield worker.reconfigServiceWithSibling(sibling)

        assert worker.password is registered and (yield accepted()) == first
        assert worker.launch.instance_types == ("c5.xlarge",)
        yield worker.stop_instance()
        worker.state = worker.state.NOT_SUBSTANTIATED
        assert (yield accepted()) != first  # a stopped instance's password is refused
        yield worker.start_instance(None)
        second = carried()
        assert second != first and (yield accepted()) == second
        yield worker.stop_instance()

    # --- failure paths ----------------------------------------------------------------

    @defer.inlineCallbacks
    def test_missing_image_fails_cleanly(self) -> Generator[Any, Any, None]:
        worker = yield self.start_worker(ami_name="no-such-image")
        with pytest.raises(LatentWorkerFailedToSubstantiate):
            yield worker.start_instance(None)
        self.assertLogged(
            "worker-1: no available image named 'no-such-image' tagged production=true"
        )
        assert self.instances() == []

    @defer.inlineCallbacks
    def test_aws_error_on_start_fails_cleanly(self) -> Generator[Any, Any, None]:
        worker = yield self.start_worker(api_attempts=2)
        # moto always has capacity: answer RunInstances as AWS does when it has none.
        answer_with(
            worker.ec2(),
            "RunInstances",
            lambda: aws_error("InsufficientInstanceCapacity", 500),
        )
        with pytest.raises(LatentWorkerFailedToSubstantiate):
            yield worker.start_instance(None)
        self.assertLogged(
            "worker-1: no spot c5.large in the default subnet: InsufficientInstanceCapacity"
        )
        self.assertLogged(r"worker-1: no capacity for any offer \(spot c5.large in the default")
        self.assert_nothing_left()
        assert worker.instance_id is None

    @defer.inlineCallbacks
    def test_request_limit_is_retried_then_the_instance_starts(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        refusals = iter([aws_error("RequestLimitExceeded"), aws_error("RequestLimitExceeded")])
        calls: list[str] = []

        def throttle() -> AWSResponse | None:
            # moto never throttles: the first two RunInstances are refused as AWS would.
            calls.append("RunInstances")
            return next(refusals, None)

        answer_with(worker.ec2(), "RunInstances", throttle)
        yield worker.start_instance(None)

        assert calls == ["RunInstances"] * 3
        [instance] = self.instances()  # the retries reused one client token
        assert instance["State"]["Name"] == "running"
        yield worker.stop_instance()
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_request_limit_without_end_fails_and_leaves_nothing(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker(api_attempts=2)
        calls: list[str] = []

        def throttle() -> AWSResponse:
            calls.append("RunInstances")
            return aws_error("RequestLimitExceeded")

        answer_with(worker.ec2(), "RunInstances", throttle)
        with pytest.raises(LatentWorkerFailedToSubstantiate):
            yield worker.start_instance(None)
        assert calls == ["RunInstances"] * 2  # aws.api_attempts
        self.assertLogged(
            "worker-1: EC2 refused spot c5.large in the default subnet: RequestLimitExceeded"
        )
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_spot_never_fulfilled_is_given_up_and_terminated(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        # moto runs every instance at once; here the instance stays pending, as a spot
        # instance waiting for capacity does: DescribeInstances reports it pending.
        pending = {"on": True}

        def still_pending() -> AWSResponse | None:
            if not pending["on"]:
                return None
            [instance] = self.instances()
            return aws_response(
                200,
                "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
                f"<instanceId>{instance['InstanceId']}</instanceId>"
                "<instanceState><code>0</code><name>pending</name></instanceState>"
                "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>",
            )

        def terminated() -> None:
            pending["on"] = False  # from here on moto answers again

        answer_with(worker.ec2(), "DescribeInstances", still_pending)
        answer_with(worker.ec2(), "TerminateInstances", terminated)
        started = worker.start_instance(None)
        self.reactor.pump([worker.poll_interval] * 50)  # start_timeout (2 s) passes
        assert isinstance((yield outcome(started)), LatentWorkerFailedToSubstantiate)
        self.assertLogged(r"worker-1: instance i-\w+ still pending after 2s; giving it up")
        self.assertLogged(r"worker-1: terminating instance i-\w+")
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_instance_whose_worker_never_connects_is_terminated(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        wfb = object()

        result = worker.substantiate(wfb, None)
        [instance] = self.instances()
        assert instance["State"]["Name"] == "running"
        # start_timeout (2) + connect_timeout (60) pass without the worker connecting.
        self.reactor.advance(63)

        assert isinstance((yield outcome(result)), defer.TimeoutError)
        self.assert_nothing_left()
        assert worker.instance_id is None

    @defer.inlineCallbacks
    def test_instance_taken_back_before_connecting_fails_the_start(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        result = worker.substantiate(object(), None)
        [instance] = self.instances()
        self.ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])  # spot reclaimed

        self.reactor.advance(worker.check_instance_interval)

        failure = yield outcome(result)
        assert isinstance(failure, LatentWorkerFailedToSubstantiate)
        assert f"instance {instance['InstanceId']} is terminated" in str(failure)
        self.assertLogged(r"worker-1: instance i-\w+ is terminated before its worker connected")
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_a_terminate_that_fails_is_asked_again_until_it_holds(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        yield worker.start_instance(None)
        [first] = self.instances()
        # moto always terminates: refuse two TerminateInstances as AWS can.
        refusals = iter([aws_error("InternalError", 500), aws_error("Unavailable", 503)])
        answer_with(worker.ec2(), "TerminateInstances", lambda: next(refusals, None))

        yield worker.stop_instance()  # the build may end: the terminate goes on

        assert self.instances()[0]["State"]["Name"] == "running"
        assert worker.calls.terminating == {first["InstanceId"]}
        yield worker.start_instance(None)  # meanwhile, the worker may start another
        self.reactor.advance(1)
        assert self.instances()[0]["State"]["Name"] == "running"
        self.reactor.advance(1)
        states = {i["InstanceId"]: i["State"]["Name"] for i in self.instances()}
        assert states[first["InstanceId"]] == "terminated"
        assert worker.calls.terminating == set()
        self.assertLogged(r"worker-1: could not terminate i-\w+: InternalError: test: Inter")
        self.assertLogged(r"worker-1: could not terminate i-\w+: Unavailable: test: Unavail")
        self.assertLogged(r"worker-1: instance i-\w+ terminated after 3 tries")
        yield worker.stop_instance()
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_aws_failing_while_the_instance_boots_is_asked_again(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        refusals = iter([aws_error("ServiceUnavailable", 503), aws_error("RequestLimitExceeded")])
        answer_with(worker.ec2(), "DescribeInstances", lambda: next(refusals, None))

        yield worker.start_instance(None)

        [instance] = self.instances()
        assert worker.instance_id == instance["InstanceId"]
        assert instance["State"]["Name"] == "running"  # the healthy instance was kept
        self.assertLogged(r"worker-1: instance i-\w+ is starting; AWS said ServiceUnavailable")
        self.assertLogged(r"worker-1: instance i-\w+ is starting; AWS said RequestLimitExceeded")
        yield worker.stop_instance()
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_the_sweep_terminates_this_masters_instances_that_no_worker_owns(
        self,
    ) -> Generator[Any, Any, None]:
        def launch(**tags: str) -> str:
            found = self.ec2.run_instances(
                ImageId=PRODUCTION_IMAGE,
                MinCount=1,
                MaxCount=1,
                TagSpecifications=[
                    {
                        "ResourceType": "instance",
                        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                    }
                ],
            )
            instance_id: str = found["Instances"][0]["InstanceId"]
            return instance_id

        ours = master_id(Path(self.master.basedir))  # made before the worker starts
        here = {"buildbot-master": "build.example.com", MASTER_ID_TAG: ours}
        leaked = launch(Name="buildbot worker-2", **here, **{"buildbot-pool": "worker"})
        elsewhere = launch(**{"buildbot-master": "other.example.com", "buildbot-pool": "worker"})
        # Another master on this host, with a pool of the same name.
        neighbour = launch(
            **{**here, MASTER_ID_TAG: "0123456789abcdef"}, **{"buildbot-pool": "worker"}
        )
        other_pool = launch(**here, **{"buildbot-pool": "large"})
        worker = yield self.start_worker()
        yield worker.start_instance(None)

        self.reactor.advance(Ec2Calls.sweep_after)

        states = {i["InstanceId"]: i["State"]["Name"] for i in self.instances()}
        assert states == {
            leaked: "terminated",
            elsewhere: "running",
            neighbour: "running",
            other_pool: "running",
            worker.instance_id: "running",
        }
        [instance] = [i for i in self.instances() if i["InstanceId"] == worker.instance_id]
        assert {"Key": MASTER_ID_TAG, "Value": ours} in instance["Tags"]
        self.assertLogged(
            f"EC2 sweep: terminating instance {leaked} \\(buildbot worker-2, launched .*, "
            f"running\\): tagged as this master's \\(buildbot-master-id {ours}, pool worker\\) "
            "but no worker of this master owns it"
        )
        yield worker.stop_instance()

    # --- idle stop --------------------------------------------------------------------

    @defer.inlineCallbacks
    def test_idle_worker_is_asked_to_shut_down_then_terminated(
        self,
    ) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        result = worker.substantiate(object(), None)
        conn = fakeprotocol.FakeConnection(worker)
        events: list[tuple[str, str]] = []

        def shutdown() -> defer.Deferred[None]:
            [instance] = self.instances()
            events.append(("shutdown", instance["State"]["Name"]))
            return defer.succeed(None)

        conn.remoteShutdown = shutdown
        yield worker.attached(conn)
        assert (yield result) is True

        # Attached, but no build came: the idle timer still runs out.
        self.reactor.advance(300)
        yield worker._deferwaiter.wait()

        assert events == [("shutdown", "running")]
        self.assertLogged("worker-1: asking it to shut down before its machine ends")
        self.assert_nothing_left()

    @defer.inlineCallbacks
    def test_upstream_leaves_an_idle_worker_running_and_cuts_it_off(
        self,
    ) -> Generator[Any, Any, None]:
        """Canary of ``mends/latent_workers.py``: stock Buildbot never stops a worker that
        attached without a build, and drops its connection without asking it to exit."""
        worker = yield self.start_worker()
        with stock(AbstractLatentWorker, "attached", "_soft_disconnect"):
            result = worker.substantiate(object(), None)
            conn = fakeprotocol.FakeConnection(worker)
            asked: list[str] = []

            def shutdown() -> defer.Deferred[None]:
                asked.append("shutdown")
                return defer.succeed(None)

            conn.remoteShutdown = shutdown
            yield worker.attached(conn)
            assert (yield result) is True
            self.reactor.advance(300)
            [instance] = self.instances()
            assert instance["State"]["Name"] == "running"  # idle past its timeout

            yield worker.insubstantiate()
            yield worker._soft_disconnect()
        assert asked == []

    @defer.inlineCallbacks
    def test_master_shutdown_terminates_the_instance(self) -> Generator[Any, Any, None]:
        worker = yield self.start_worker()
        result = worker.substantiate(object(), None)
        yield worker.attached(fakeprotocol.FakeConnection(worker))
        assert (yield result) is True

        yield self.master.stopService()

        self.assert_nothing_left()
