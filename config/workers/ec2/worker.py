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

Its passwords come from ``secrets``, new for each instance (:mod:`config.workers.passwords`),
and its instances are tagged with this master's id (:mod:`.master_id`). What is wrong in
every latent worker (no idle stop for a worker that never got a build, no shutdown
request before its machine goes) is mended for all of them in ``mends/latent_workers.py``.

We launch one-time spot instances through ``run_instances`` with
``InstanceMarketOptions``: one synchronous call that either starts an instance or fails,
with user data encoded by boto3 as for any instance, and no separate spot request to
track. Every AWS call is one request in the EC2 workers' own threads, and every wait (for
an instance to run or end, before asking again) is on the reactor
(:mod:`config.workers.ec2.calls`): no thread of Twisted's shared pool is held, none sleeps.
AWS's passing refusals (throttling, 5xx, broken connections: :mod:`.retry`) are asked
again with exponential backoff and full jitter; while an instance boots, until its
``start_timeout``. A capacity error is not asked again: the next offer of the pool
(another instance type, subnet, or on-demand: see :mod:`config.workers.ec2.launch`) is
tried at once, and the one AWS refused is tried last for ``capacity_skip`` seconds, by
every worker of the master. A terminate that fails is tried again until it holds. What
instances cost is counted in :mod:`config.workers.ec2.cost`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator, Mapping
from typing import Any

from botocore.exceptions import ClientError
from buildbot.interfaces import LatentWorkerFailedToSubstantiate
from twisted.internet import defer
from twisted.python import log

from config.workers import userdata
from config.workers.ec2.aws import (
    GONE,
    LAUNCH_TAG,
    client,
    code,
    problem,
    thd_state,
    thd_tagged,
)
from config.workers.ec2.calls import Ec2Calls
from config.workers.ec2.cost import Spending, Usage, thd_spot_price
from config.workers.ec2.launch import (
    CAPACITY_ERRORS,
    Launch,
    Offer,
    newest_image,
    offers,
    tags_of,
)
from config.workers.ec2.master_id import MASTER_ID_TAG
from config.workers.ec2.retry import transient
from config.workers.passwords import RenewedPasswords


class SpotWorker(RenewedPasswords):
    """A latent worker that runs its builds on a one-time EC2 instance: spot, or on
    demand where its pool's market allows."""

    # Rendered by Buildbot at (re)configuration, from the secret provider.
    secrets = ("access_key_id", "secret_access_key")
    poll_interval = 5.0
    """Seconds between looks at a starting or ending instance (tests make it shorter)."""

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
        if not hasattr(self, "claims"):
            self.claims: set[str] = set()
            """Launch tokens and instances of a start under way: this worker's, not leaks."""
        if not hasattr(self, "spending"):  # kept across reconfigs, like the worker itself
            self.spending = Spending()
        # The password (None): new for each instance (RenewedPasswords); a reconfig keeps
        # the current one, so a running instance can still log in.
        yield super().reconfigService(name, password, **kwargs)
        self._name_instance()  # Buildbot's reconfig starts the worker's properties anew
        if self.running:  # its pool or tags may be new: sweep them
            self.calls.enlist(self)

    def ec2(self) -> Any:
        """This worker's EC2 client (boto3 clients may be shared by threads)."""
        if self._client is None:
            self._client = client(self.launch, *self._credentials)
        return self._client

    @defer.inlineCallbacks
    def startService(self) -> Generator[Any, Any, None]:
        self.calls: Ec2Calls = yield Ec2Calls.getService(self.master)
        yield super().startService()  # configures the worker the first time
        self.calls.enlist(self)

    @defer.inlineCallbacks
    def stopService(self) -> Generator[Any, Any, None]:
        yield super().stopService()  # terminates a running instance first
        self.calls.leave(self)

    def owns(self, instance: Mapping[str, Any]) -> bool:
        """Whether ``instance`` (as AWS describes it) is this worker's, running or starting."""
        tags = tags_of(instance)
        instance_id = instance["InstanceId"]
        return instance_id == self.instance_id or bool(
            {instance_id, tags.get(LAUNCH_TAG)} & self.claims
        )

    def _say(self, message: str) -> None:
        log.msg(f"EC2 worker {self.name}: {message}")

    def _fail(self, message: str) -> LatentWorkerFailedToSubstantiate:
        self._say(message)
        return LatentWorkerFailedToSubstantiate(self.name, message)

    # --- starting --------------------------------------------------------------------

    def user_data(self, password: str) -> str:
        """The rendered ``slave/cloud-init.sh`` for an instance whose worker logs in with
        ``password``."""
        values = {
            **dict(self.launch.values),
            "WORKER_PASSWORD": password,
        }
        return userdata.render(self.launch.template, values)

    def start_instance(self, build: Any) -> defer.Deferred[bool]:
        user_data = self.user_data(self.machine_password())
        d: defer.Deferred[tuple[str, float | None]] = self._start(user_data)
        return d.addCallback(self._started)

    def _started(self, started: tuple[str, float | None]) -> bool:
        instance_id, self.price = started
        assert self.offer is not None and instance_id == self.instance_id
        key = (self.launch.pool, self.offer.instance_type, self.offer.market)
        self.spending.started(key, self.master.reactor.seconds(), self.price)
        self._name_instance()
        return True

    def usage(self) -> Usage:
        """Instance-seconds and estimated dollars of this worker's instances so far, by
        pool, instance type and market; the running instance counts up to now."""
        return self.spending.usage(self.master.reactor.seconds())

    @defer.inlineCallbacks
    def _price(self, offer: Offer, zone: str) -> Generator[Any, Any, float | None]:
        """USD per hour of an instance of ``offer`` in ``zone``: for spot, the newest price
        in AWS's price history there; on demand, the settings' ``on_demand_prices``."""
        price: float | None
        if offer.market != "spot":
            price = dict(self.launch.on_demand_prices).get(offer.instance_type)
        else:
            try:
                price = yield self.calls.call(thd_spot_price, self.ec2(), offer.instance_type, zone)
            except Exception as error:
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

    @defer.inlineCallbacks
    def _image(self) -> Generator[Any, Any, Mapping[str, Any]]:
        # Avoids: upstream lists every image the owners have and matches the location with
        # a prefix regex. We ask for available images of the owners and take the newest
        # whose name is exactly ours (or ours with a date suffix).
        filters = [{"Name": "state", "Values": ["available"]}]
        try:
            found = yield self._ask(
                "listing images",
                lambda: self.ec2().describe_images(
                    Owners=list(self.launch.ami_owners), Filters=filters
                ),
            )
        except Exception as error:
            raise self._fail(f"cannot list images: {problem(error)}") from error
        image = newest_image(found["Images"], self.launch.ami_name, self.launch.production_only)
        if image is None:
            production = " tagged production=true" if self.launch.production_only else ""
            raise self._fail(
                f"no available image named {self.launch.ami_name!r}{production} owned by "
                f"{', '.join(self.launch.ami_owners)}"
            )
        return image

    def _ask(self, what: str, blocking: Any) -> defer.Deferred[Any]:
        """One AWS call, asked again with backoff for passing refusals, up to
        ``aws.api_attempts`` tries."""
        return self.calls.ask(what, blocking, attempts=self.launch.api_attempts, say=self._say)

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
                        {"Key": k, "Value": v}
                        for k, v in (
                            *launch.tags,
                            (MASTER_ID_TAG, self.calls.master_id),
                            (LAUNCH_TAG, token),
                        )
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

    @defer.inlineCallbacks
    def _start(self, user_data: str) -> Generator[Any, Any, tuple[str, float | None]]:
        """Launch an instance, trying the next offer when AWS has no capacity for one, and
        wait until it runs; leave nothing behind on failure. The instance and its price."""
        image = yield self._image()
        refusals: list[str] = []
        for offer in self._offers():
            try:
                instance = yield self._launch_offer(image["ImageId"], user_data, offer)
            except ClientError as error:
                if code(error) not in CAPACITY_ERRORS:
                    raise self._fail(f"EC2 refused {offer}: {problem(error)}") from error
                self._say(f"no {offer}: {problem(error)}")
                refusals.append(f"{offer}: {code(error)}")
                skip_until = time.monotonic() + self.launch.capacity_skip
                self.short_of_capacity[(self.launch.region, offer)] = skip_until
                continue
            except Exception as error:
                raise self._fail(f"EC2 refused {offer}: {problem(error)}") from error
            instance_id: str = instance["InstanceId"]
            # Named at once: its worker may connect (and a build start) before we see it run.
            self.offer, self.instance_id, self.price = offer, instance_id, None
            self.claims.discard(instance_id)
            self._name_instance()
            try:
                yield self._wait_running(instance_id)
                self._say(f"instance {instance_id} is running; waiting for its worker to connect")
                zone = instance.get("Placement", {}).get("AvailabilityZone", "")
                price = yield self._price(offer, zone)
            except BaseException:
                self.instance_id = None
                yield self._end(instance_id, wait=False)
                raise
            return instance_id, price
        raise self._fail(f"no capacity for any offer ({'; '.join(refusals)})")

    def _offers(self) -> list[Offer]:
        """The offers to try now: those that lately had no capacity go last."""
        now = time.monotonic()
        every = offers(self.launch)
        short = self.short_of_capacity

        def lately_short(offer: Offer) -> bool:
            return short.get((self.launch.region, offer), 0.0) > now

        return [o for o in every if not lately_short(o)] + [o for o in every if lately_short(o)]

    @defer.inlineCallbacks
    def _launch_offer(
        self, image_id: str, user_data: str, offer: Offer
    ) -> Generator[Any, Any, dict[str, Any]]:
        """One launch (the instance as AWS describes it), its throttling asked again under
        the same client token, so AWS starts at most one instance; whatever a failed launch
        may have started is terminated."""
        token = uuid.uuid4().hex
        options = self._launch_options(image_id, user_data, token, offer)
        self._say(f"starting {offer} of {image_id}")
        self.claims.add(token)
        try:
            reservation = yield self._ask(
                f"launching {offer}", lambda: self.ec2().run_instances(**options)
            )
        except BaseException:
            yield self._end_launch(token)  # a lost answer may have launched one
            raise
        finally:
            self.claims.discard(token)
        instance: dict[str, Any] = reservation["Instances"][0]
        self.claims.add(instance["InstanceId"])
        return instance

    @defer.inlineCallbacks
    def _wait_running(self, instance_id: str) -> Generator[Any, Any, None]:
        # Avoids: upstream waits for an instance (and a spot request) without a bound, and
        # fails the start (terminating a healthy instance) at AWS's first hiccup.
        reactor = self.master.reactor
        deadline = reactor.seconds() + self.launch.start_timeout
        failures = 0
        while True:
            wait = self.poll_interval
            try:
                state = yield self.calls.call(thd_state, self.ec2(), instance_id)
                failures = 0
            except Exception as error:
                if not transient(error):
                    message = f"cannot see instance {instance_id}: {problem(error)}"
                    raise self._fail(message) from error
                failures += 1
                state, wait = "pending", self.calls.backoff.delay(failures)
                self._say(
                    f"instance {instance_id} is starting; AWS said {problem(error)}, "
                    f"asking again in {wait:.1f}s"
                )
            if state == "running":
                return
            if state != "pending":
                raise self._fail(f"instance {instance_id} is {state} instead of running")
            if reactor.seconds() > deadline:
                raise self._fail(
                    f"instance {instance_id} still pending after "
                    f"{self.launch.start_timeout:g}s; giving it up"
                )
            yield self.calls.pause(wait)

    def check_instance(self) -> defer.Deferred[tuple[bool, str]]:
        # Buildbot asks this every few seconds until the worker connects: an instance the
        # spot market took back (or that powered off) fails the start at once; AWS's
        # passing refusals do not.
        instance_id = self.instance_id
        if instance_id is None:
            return defer.succeed((True, ""))

        def seen(state: str) -> tuple[bool, str]:
            if state in GONE:
                self._say(f"instance {instance_id} is {state} before its worker connected")
                return (False, f"instance {instance_id} is {state}")
            return (True, "")

        def unseen(failure: Any) -> Any:
            if transient(failure.value):
                self._say(f"cannot see instance {instance_id} now: {problem(failure.value)}")
                return (True, "")
            return failure

        d: defer.Deferred[str] = self.calls.call(thd_state, self.ec2(), instance_id)
        return d.addCallbacks(seen, unseen)

    # --- idling and stopping ---------------------------------------------------------

    def stop_instance(self, fast: bool = False) -> defer.Deferred[None]:
        self.forget_password()
        instance_id, self.instance_id = self.instance_id, None
        if instance_id is None:
            return defer.succeed(None)
        self.spending.ended(self.master.reactor.seconds())
        return self._end(instance_id, wait=not fast)

    @defer.inlineCallbacks
    def _end(self, instance_id: str, wait: bool = True) -> Generator[Any, Any, None]:
        """Terminate the instance (and so its spot request); if AWS refuses, the master
        asks again until it holds, whatever this worker does meanwhile. Wait, bounded,
        for it to end if asked."""
        self._say(f"terminating instance {instance_id}")
        self.claims.add(instance_id)  # ending, not leaked
        try:
            held = yield self.calls.terminate(self.ec2(), instance_id, self._say)
        finally:
            self.claims.discard(instance_id)
        if not (held and wait):
            return
        # Avoids: upstream waits for termination without a bound.
        deadline = self.master.reactor.seconds() + self.launch.start_timeout
        while True:
            try:
                state = yield self.calls.call(thd_state, self.ec2(), instance_id)
            except Exception as error:
                state = f"unseen ({problem(error)})"
            if state == "terminated":
                self._say(f"instance {instance_id} terminated")
                return
            if self.master.reactor.seconds() > deadline:
                self._say(f"instance {instance_id} is still {state}; AWS will finish it")
                return
            yield self.calls.pause(self.poll_interval)

    @defer.inlineCallbacks
    def _end_launch(self, token: str) -> Generator[Any, Any, None]:
        """Terminate whatever a failed launch call may have started."""
        try:
            found = yield self._ask(
                "looking for a failed launch's instance",
                lambda: thd_tagged(self.ec2(), {LAUNCH_TAG: token}),
            )
        except Exception as error:
            self._say(f"could not look for instances of the failed launch: {problem(error)}")
            return
        for instance in found:
            yield self._end(instance["InstanceId"], wait=False)
