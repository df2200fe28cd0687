"""EC2 spot latent workers: a latent worker of our own instead of Buildbot 4.3's
``EC2LatentWorker``.

Buildbot's documented way to add a kind of latent worker is to subclass
``AbstractLatentWorker`` and implement ``start_instance`` and ``stop_instance``; this
module does that, because the upstream EC2 class has defects that bit us (seen against
moto), each avoided here where a comment names it:

- its constructor calls AWS, and creates key pairs and security groups, at every
  ``checkconfig`` and reconfig;
- its spot path asks the price history with ``AvailabilityZone=None`` (fails without
  ``placement``), sends the spot request without the ImageId found by regex, and needs
  user data base64-encoded there while the on-demand path encodes it itself;
- its waits have no bound, and a spot request or instance it gives up on is not always
  cancelled or terminated (upstream issue #2874), which leaks paid instances;
- ``valid_ami_location_regex`` is a prefix match, so ``fedora-buildslave-base-old`` passes.

Its passwords come from ``secrets`` (:mod:`config.workers.passwords`). What is wrong in
every latent worker (no idle stop for a worker that never got a build, no shutdown
request before its machine goes) is mended for all of them in ``mends/latent_workers.py``.

We launch one-time spot instances through ``run_instances`` with
``InstanceMarketOptions``: one synchronous call that either starts an instance or fails,
with user data encoded by boto3 as for any instance, and no separate spot request to
track. Throttling (``RequestLimitExceeded``) is retried by botocore's "standard" retry
mode, which backs off exponentially with full jitter; every call is bounded by timeouts.
The launch call retries throttling itself the same way, but not a capacity error: the
next offer of the pool (another instance type, subnet, or on-demand: see
:mod:`config.workers.ec2.launch`) is tried at once, and the one AWS refused is tried last
for ``capacity_skip`` seconds, by every worker of the master. What instances cost is
counted in :mod:`config.workers.ec2.cost`.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Generator, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from buildbot.interfaces import LatentWorkerFailedToSubstantiate
from twisted.internet import defer, threads
from twisted.python import log

from config.workers import userdata
from config.workers.ec2.aws import GONE, LAUNCH_TAG, client, code, problem
from config.workers.ec2.cost import Spending, Usage, thd_spot_price
from config.workers.ec2.launch import (
    CAPACITY_ERRORS,
    RETRIED,
    Launch,
    Offer,
    newest_image,
    offers,
)
from config.workers.passwords import StrongPasswords


class SpotWorker(StrongPasswords):
    """A latent worker that runs its builds on a one-time EC2 instance: spot, or on
    demand where its pool's market allows."""

    # Rendered by Buildbot at (re)configuration, from the secret provider.
    secrets = ("access_key_id", "secret_access_key")
    poll_interval = 5.0
    """Seconds between looks at a starting or ending instance (tests make it shorter)."""
    backoff = 0.5
    """Seconds of the first wait before a throttled launch is asked again (doubling)."""

    instance_id: str | None = None
    offer: Offer | None = None
    """How the current instance was launched."""

    price: float | None = None
    """USD per hour of the current instance, if known."""

    short_of_capacity: dict[tuple[str, Offer], float] = {}  # noqa: RUF012
    """Until when an offer that AWS had no capacity for is passed over, by region and
    offer: shared by every worker of the master, as AWS's capacity is."""

    def __init__(self, name: str, *, launch: Launch, **kwargs: Any) -> None:
        # EC2LatentWorker's constructor connects to AWS, loads the key pair (creating it
        # if missing), looks up (and creates) the security group and lists images, at every
        # checkconfig and reconfig. Ours only records the arguments; AWS is first asked
        # when an instance starts. The password is None: reconfigService picks it.
        super().__init__(name, None, launch=launch, **kwargs)

    def checkConfig(
        self,
        name: str,
        password: str | None,
        launch: Launch,
        access_key_id: Any,
        secret_access_key: Any,
        **kwargs: Any,
    ) -> None:
        super().checkConfig(name, password, **kwargs)

    @defer.inlineCallbacks
    def reconfigService(
        self,
        name: str,
        password: str | None,
        launch: Launch,
        access_key_id: str | None,
        secret_access_key: str | None,
        **kwargs: Any,
    ) -> Generator[Any, Any, None]:
        self.launch = launch
        self._credentials = (access_key_id, secret_access_key)
        self._client: Any = None
        self._launch_client: Any = None
        if not hasattr(self, "spending"):  # kept across reconfigs, like the worker itself
            self.spending = Spending()
        # The worker password: random, from `secrets`, per worker and per master start.
        # `buildbot reconfig` runs master.cfg again in the same process; getRandomPass
        # keeps the current password while an instance exists (its user data carries it,
        # so it can still log in) and picks a new one only when none runs.
        if password is None:
            password = self.getRandomPass()
        yield super().reconfigService(name, password, **kwargs)
        self._name_instance()  # Buildbot's reconfig starts the worker's properties anew

    def _ec2(self) -> Any:
        if self._client is None:
            self._client = client(self.launch, *self._credentials)
        return self._client

    def _ec2_launching(self) -> Any:
        """A client that asks ``RunInstances`` once per call: botocore would retry a
        capacity error (HTTP 500) with backoff, where the next offer is the better try."""
        if self._launch_client is None:
            self._launch_client = client(self.launch, *self._credentials, attempts=1)
        return self._launch_client

    def _say(self, message: str) -> None:
        log.msg(f"EC2 worker {self.name}: {message}")

    def _fail(self, message: str) -> LatentWorkerFailedToSubstantiate:
        self._say(message)
        return LatentWorkerFailedToSubstantiate(self.name, message)

    # --- starting --------------------------------------------------------------------

    def user_data(self) -> str:
        """The rendered ``slave/cloud-init.sh`` for this worker's next instance."""
        values = {
            **dict(self.launch.values),
            "WORKER_PASSWORD": self.password,
        }
        return userdata.render(self.launch.template, values)

    def start_instance(self, build: Any) -> defer.Deferred[bool]:
        # Avoids: upstream refuses to start while it still knows an instance ("instance
        # active"). Ours knows one only when terminating it failed: terminate it first.
        leftover, self.instance_id = self.instance_id, None
        d: defer.Deferred[tuple[str, float | None]] = threads.deferToThread(
            self._thd_start, self.user_data(), leftover
        )
        return d.addCallback(self._started)

    def _started(self, started: tuple[str, float | None]) -> bool:
        self.instance_id, self.price = started
        assert self.offer is not None
        key = (self.launch.pool, self.offer.instance_type, self.offer.market)
        self.spending.started(key, self.master.reactor.seconds(), self.price)
        self._name_instance()
        return True

    def usage(self) -> Usage:
        """Instance-seconds and estimated dollars of this worker's instances so far, by
        pool, instance type and market; the running instance counts up to now."""
        return self.spending.usage(self.master.reactor.seconds())

    def _thd_price(self, offer: Offer, zone: str) -> float | None:
        """USD per hour of an instance of ``offer`` in ``zone``: for spot, the newest price
        in AWS's price history there; on demand, the settings' ``on_demand_prices``."""
        if offer.market != "spot":
            price = dict(self.launch.on_demand_prices).get(offer.instance_type)
        else:
            try:
                price = thd_spot_price(self._ec2(), offer.instance_type, zone)
            except (ClientError, BotoCoreError) as error:
                self._say(f"no spot price for {offer}: {problem(error)}")
                return None
        if price is None:
            self._say(f"no price known for {offer.market} {offer.instance_type}")
        return price

    def _name_instance(self) -> None:
        """The worker's properties name its running instance (builds copy them)."""
        if self.instance_id is None or self.offer is None:
            return
        for name, value in (
            ("instance", self.instance_id),
            ("instance_type", self.offer.instance_type),
            ("market", self.offer.market),
            ("instance_price", self.price),
        ):
            self.properties.setProperty(name, value, "Worker")

    def get_image(self) -> Mapping[str, Any]:
        # Avoids: upstream lists every image the owners have and matches the location with
        # a prefix regex. We ask for available images of the owners and take the newest
        # whose name is exactly ours (or ours with a date suffix).
        filters = [{"Name": "state", "Values": ["available"]}]
        try:
            images = self._ec2().describe_images(
                Owners=list(self.launch.ami_owners), Filters=filters
            )["Images"]
        except (ClientError, BotoCoreError) as error:
            raise self._fail(f"cannot list images: {problem(error)}") from error
        image = newest_image(images, self.launch.ami_name, self.launch.production_only)
        if image is None:
            production = " tagged production=true" if self.launch.production_only else ""
            raise self._fail(
                f"no available image named {self.launch.ami_name!r}{production} owned by "
                f"{', '.join(self.launch.ami_owners)}"
            )
        return image

    def _launch_options(
        self, image_id: str, user_data: str, token: str, offer: Offer
    ) -> dict[str, Any]:
        launch = self.launch
        options: dict[str, Any] = {
            # Avoids: the upstream spot request is sent without the ImageId it resolved.
            "ImageId": image_id,
            "InstanceType": offer.instance_type,
            "KeyName": launch.keypair,
            "MinCount": 1,
            "MaxCount": 1,
            # Avoids: upstream's spot path needs user data base64-encoded by hand (#3742);
            # run_instances has boto3 encode it, like any launch.
            "UserData": user_data,
            # Avoids: a separate spot request (and its price-history call, which fails
            # without a placement) that can outlive a give-up. One-time spot through
            # run_instances starts an instance or fails at once.
            "InstanceMarketOptions": {
                "MarketType": "spot",
                "SpotOptions": {
                    "MaxPrice": f"{launch.max_spot_price:g}",
                    "SpotInstanceType": "one-time",
                    "InstanceInterruptionBehavior": "terminate",
                },
            },
            # A worker that powers off (its service ended) ends its instance too.
            "InstanceInitiatedShutdownBehavior": "terminate",
            # The instance's metadata and user data (which holds the worker's password)
            # answer only session-token requests that cross no extra network hop (no
            # container, no forwarded request); cloud-init.sh also keeps the build user
            # from them. README: Pull requests.
            "MetadataOptions": {
                "HttpEndpoint": "enabled",
                "HttpTokens": "required",
                "HttpPutResponseHopLimit": 1,
            },
            "ClientToken": token,
            "TagSpecifications": [
                {
                    "ResourceType": resource,
                    "Tags": [
                        {"Key": k, "Value": v} for k, v in (*launch.tags, (LAUNCH_TAG, token))
                    ],
                }
                for resource in ("instance", "volume")
            ],
        }
        if offer.market != "spot":
            del options["InstanceMarketOptions"]
        if offer.subnet:
            options["SubnetId"] = offer.subnet
        profile = launch.instance_profile
        if profile:
            options["IamInstanceProfile"] = {
                "Arn" if profile.startswith("arn:") else "Name": profile
            }
        group = launch.security_group
        if group:
            options["SecurityGroupIds" if group.startswith("sg-") else "SecurityGroups"] = [group]
        return options

    def _thd_start(self, user_data: str, leftover: str | None = None) -> tuple[str, float | None]:
        """Launch an instance, trying the next offer when AWS has no capacity for one, and
        wait until it runs; leave nothing behind on failure. The instance and its price."""
        if leftover is not None:
            self._thd_terminate(leftover, wait=False)
        image = self.get_image()
        refusals: list[str] = []
        for offer in self._thd_offers():
            try:
                instance = self._thd_launch(image["ImageId"], user_data, offer)
            except ClientError as error:
                if code(error) not in CAPACITY_ERRORS:
                    raise self._fail(f"EC2 refused {offer}: {problem(error)}") from error
                self._say(f"no {offer}: {problem(error)}")
                refusals.append(f"{offer}: {code(error)}")
                skip_until = time.monotonic() + self.launch.capacity_skip
                self.short_of_capacity[(self.launch.region, offer)] = skip_until
                continue
            except BaseException as error:
                raise self._fail(f"EC2 refused {offer}: {problem(error)}") from error
            self.offer = offer
            instance_id: str = instance["InstanceId"]
            try:
                self._thd_wait_running(instance_id)
            except BaseException:
                self._thd_terminate(instance_id)
                raise
            self._say(f"instance {instance_id} is running; waiting for its worker to connect")
            zone = instance.get("Placement", {}).get("AvailabilityZone", "")
            return instance_id, self._thd_price(offer, zone)
        raise self._fail(f"no capacity for any offer ({'; '.join(refusals)})")

    def _thd_offers(self) -> list[Offer]:
        """The offers to try now: those that lately had no capacity go last."""
        now = time.monotonic()
        every = offers(self.launch)
        short = self.short_of_capacity

        def lately_short(offer: Offer) -> bool:
            return short.get((self.launch.region, offer), 0.0) > now

        return [o for o in every if not lately_short(o)] + [o for o in every if lately_short(o)]

    def _thd_launch(self, image_id: str, user_data: str, offer: Offer) -> dict[str, Any]:
        """One launch call (the instance as AWS describes it); whatever a failed call may
        have started is terminated."""
        token = uuid.uuid4().hex
        options = self._launch_options(image_id, user_data, token, offer)
        self._say(f"starting {offer} of {image_id}")
        attempt = 1
        while True:
            try:
                # The same client token each time: AWS starts at most one instance for it.
                reservation = self._ec2_launching().run_instances(**options)
                break
            except ClientError as error:
                if code(error) not in RETRIED or attempt >= self.launch.api_attempts:
                    self._thd_terminate_launch(token)  # a lost answer may have launched one
                    raise
            except BaseException:
                self._thd_terminate_launch(token)
                raise
            # Backoff with full jitter, as botocore's standard mode; this is a pool thread.
            time.sleep(random.uniform(0, min(20.0, self.backoff * 2**attempt)))
            attempt += 1
        instance: dict[str, Any] = reservation["Instances"][0]
        return instance

    def _thd_state(self, instance_id: str) -> str:
        try:
            found = self._ec2().describe_instances(InstanceIds=[instance_id])
        except ClientError as error:
            # Fresh instances are briefly unknown to DescribeInstances.
            if error.response.get("Error", {}).get("Code") == "InvalidInstanceID.NotFound":
                return "pending"
            raise
        state: str = found["Reservations"][0]["Instances"][0]["State"]["Name"]
        return state

    def _thd_wait_running(self, instance_id: str) -> None:
        # Avoids: upstream waits for an instance (and a spot request) without a bound.
        deadline = time.monotonic() + self.launch.start_timeout
        while (state := self._thd_state(instance_id)) == "pending":
            if time.monotonic() > deadline:
                raise self._fail(
                    f"instance {instance_id} still pending after "
                    f"{self.launch.start_timeout:g}s; giving it up"
                )
            time.sleep(self.poll_interval)
        if state != "running":
            raise self._fail(f"instance {instance_id} is {state} instead of running")

    def check_instance(self) -> defer.Deferred[tuple[bool, str]]:
        # Buildbot asks this every few seconds until the worker connects: an instance the
        # spot market took back (or that powered off) fails the start at once.
        instance_id = self.instance_id
        if instance_id is None:
            return defer.succeed((True, ""))

        def look() -> tuple[bool, str]:
            state = self._thd_state(instance_id)
            if state in GONE:
                self._say(f"instance {instance_id} is {state} before its worker connected")
                return (False, f"instance {instance_id} is {state}")
            return (True, "")

        return threads.deferToThread(look)

    # --- idling and stopping ---------------------------------------------------------

    def stop_instance(self, fast: bool = False) -> defer.Deferred[None]:
        instance_id, self.instance_id = self.instance_id, None
        if instance_id is None:
            return defer.succeed(None)
        self.spending.ended(self.master.reactor.seconds())
        d: defer.Deferred[None] = threads.deferToThread(self._thd_terminate, instance_id, not fast)

        def keep(failure: Any) -> Any:
            # Still ours to end: the next start terminates it before anything else.
            self.instance_id = instance_id
            return failure

        return d.addErrback(keep)

    def _thd_terminate(self, instance_id: str, wait: bool = True) -> None:
        """Terminate the instance (and so its spot request); wait, bounded, if asked."""
        self._say(f"terminating instance {instance_id}")
        try:
            self._ec2().terminate_instances(InstanceIds=[instance_id])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "InvalidInstanceID.NotFound":
                self._say(f"could not terminate {instance_id}: {problem(error)}")
                raise
            return
        if not wait:
            return
        # Avoids: upstream waits for termination without a bound.
        deadline = time.monotonic() + self.launch.start_timeout
        while (state := self._thd_state(instance_id)) != "terminated":
            if time.monotonic() > deadline:
                self._say(f"instance {instance_id} is still {state}; AWS will finish it")
                return
            time.sleep(self.poll_interval)
        self._say(f"instance {instance_id} terminated")

    def _thd_terminate_launch(self, token: str) -> None:
        """Terminate whatever a failed launch call may have started."""
        try:
            found = self._ec2().describe_instances(
                Filters=[{"Name": f"tag:{LAUNCH_TAG}", "Values": [token]}]
            )
            for reservation in found["Reservations"]:
                for instance in reservation["Instances"]:
                    if instance["State"]["Name"] not in GONE:
                        self._thd_terminate(instance["InstanceId"], wait=False)
        except (ClientError, BotoCoreError) as error:
            self._say(f"could not look for instances of the failed launch: {problem(error)}")
