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

What is wrong in every latent worker (weak passwords, no idle stop for a worker that
never got a build, no shutdown request before its machine goes) is mended for all of
them in ``mends/latent_workers.py``.

We launch one-time spot instances through ``run_instances`` with
``InstanceMarketOptions``: one synchronous call that either starts an instance or fails,
with user data encoded by boto3 as for any instance, and no separate spot request to
track. Throttling (``RequestLimitExceeded``) is retried by botocore's "standard" retry
mode, which backs off exponentially with full jitter; every call is bounded by timeouts.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from buildbot.interfaces import LatentWorkerFailedToSubstantiate
from buildbot.worker.latent import AbstractLatentWorker
from twisted.internet import defer, threads
from twisted.python import log

from config import userdata

LAUNCH_TAG = "buildbot-launch"
"""Tag naming the launch an instance came from, to find it again if the launch call fails."""

_GONE = ("shutting-down", "terminated", "stopping", "stopped")


@dataclass(frozen=True)
class Launch:
    """How every instance of one worker is launched: plain values Buildbot can compare."""

    region: str
    endpoint_url: str | None
    ami_name: str
    ami_owners: tuple[str, ...]
    production_only: bool
    instance_type: str
    max_spot_price: float
    keypair: str
    security_group: str | None
    subnet_id: str | None
    tags: tuple[tuple[str, str], ...]
    start_timeout: float
    api_attempts: int
    template: str
    values: tuple[tuple[str, str], ...]
    """The user-data template and its values other than the password and the token."""


def image_name_pattern(ami_name: str) -> re.Pattern[str]:
    """Exactly ``ami_name``, or it with a ``/YYYYmmdd.HHMMSS`` suffix (AMI names are unique)."""
    return re.compile(rf"{re.escape(ami_name)}(?:/\d{{8}}\.\d{{6}})?")


def newest_image(
    images: Sequence[Mapping[str, Any]], ami_name: str, production_only: bool
) -> Mapping[str, Any] | None:
    """The newest available image named ``ami_name`` (see :func:`image_name_pattern`)."""
    pattern = image_name_pattern(ami_name)

    def fits(image: Mapping[str, Any]) -> bool:
        tags = {t["Key"]: t["Value"] for t in image.get("Tags", [])}
        return (
            image.get("State") == "available"
            and pattern.fullmatch(image.get("Name") or "") is not None
            and (not production_only or tags.get("production") == "true")
        )

    candidates = [i for i in images if fits(i)]
    return max(candidates, key=lambda i: (i["CreationDate"], i["Name"]), default=None)


def client(launch: Launch, access_key_id: str, secret_access_key: str) -> Any:
    """An EC2 client for ``launch``; making it does not talk to AWS."""
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=launch.region,
    )
    return session.client(
        "ec2",
        endpoint_url=launch.endpoint_url,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": launch.api_attempts},
            connect_timeout=10,
            read_timeout=60,
        ),
    )


def _problem(error: BaseException) -> str:
    """An AWS error as ``Code: message``, without botocore's operation preamble."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
    return str(error)


class SpotWorker(AbstractLatentWorker):
    """A latent worker that runs its builds on a one-time EC2 spot instance."""

    # Rendered by Buildbot at (re)configuration, from the secret provider.
    secrets = ("access_key_id", "secret_access_key", "github_token")
    poll_interval = 5.0
    """Seconds between looks at a starting or ending instance (tests make it shorter)."""

    instance_id: str | None = None

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
        github_token: Any = None,
        **kwargs: Any,
    ) -> None:
        super().checkConfig(name, password, **kwargs)

    @defer.inlineCallbacks
    def reconfigService(
        self,
        name: str,
        password: str | None,
        launch: Launch,
        access_key_id: str,
        secret_access_key: str,
        github_token: str | None = None,
        **kwargs: Any,
    ) -> Generator[Any, Any, None]:
        self.launch = launch
        self._credentials = (access_key_id, secret_access_key)
        self.github_token = github_token or ""
        self._client: Any = None
        # The worker password: random, from `secrets`, per worker and per master start.
        # `buildbot reconfig` runs master.cfg again in the same process; Buildbot's
        # getRandomPass keeps the current password while an instance exists (its user data
        # carries it, so it can still log in) and picks a new one only when none runs.
        if password is None:
            password = self.getRandomPass()
        yield super().reconfigService(name, password, **kwargs)

    def _ec2(self) -> Any:
        if self._client is None:
            self._client = client(self.launch, *self._credentials)
        return self._client

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
            "GITHUB_TOKEN": self.github_token,
        }
        return userdata.render(self.launch.template, values)

    def start_instance(self, build: Any) -> defer.Deferred[bool]:
        # Avoids: upstream refuses to start while it still knows an instance ("instance
        # active"). Ours knows one only when terminating it failed: terminate it first.
        leftover, self.instance_id = self.instance_id, None
        d: defer.Deferred[str] = threads.deferToThread(self._thd_start, self.user_data(), leftover)
        return d.addCallback(self._started)

    def _started(self, instance_id: str) -> bool:
        self.instance_id = instance_id
        self.properties.setProperty("instance", instance_id, "Worker")
        return True

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
            raise self._fail(f"cannot list images: {_problem(error)}") from error
        image = newest_image(images, self.launch.ami_name, self.launch.production_only)
        if image is None:
            production = " tagged production=true" if self.launch.production_only else ""
            raise self._fail(
                f"no available image named {self.launch.ami_name!r}{production} owned by "
                f"{', '.join(self.launch.ami_owners)}"
            )
        return image

    def _launch_options(self, image_id: str, user_data: str, token: str) -> dict[str, Any]:
        launch = self.launch
        options: dict[str, Any] = {
            # Avoids: the upstream spot request is sent without the ImageId it resolved.
            "ImageId": image_id,
            "InstanceType": launch.instance_type,
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
        if launch.subnet_id:
            options["SubnetId"] = launch.subnet_id
        group = launch.security_group
        if group:
            options["SecurityGroupIds" if group.startswith("sg-") else "SecurityGroups"] = [group]
        return options

    def _thd_start(self, user_data: str, leftover: str | None = None) -> str:
        """Launch an instance and wait until it runs; leave nothing behind on failure."""
        if leftover is not None:
            self._thd_terminate(leftover, wait=False)
        image = self.get_image()
        token = uuid.uuid4().hex
        self._say(f"starting a spot {self.launch.instance_type} of {image['ImageId']}")
        try:
            reservation = self._ec2().run_instances(
                **self._launch_options(image["ImageId"], user_data, token)
            )
        except BaseException as error:
            # The call may have launched an instance before it failed (a lost answer).
            self._thd_terminate_launch(token)
            raise self._fail(f"EC2 refused a spot instance: {_problem(error)}") from error
        instance_id: str = reservation["Instances"][0]["InstanceId"]
        try:
            self._thd_wait_running(instance_id)
        except BaseException:
            self._thd_terminate(instance_id)
            raise
        self._say(f"instance {instance_id} is running; waiting for its worker to connect")
        return instance_id

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
            if state in _GONE:
                self._say(f"instance {instance_id} is {state} before its worker connected")
                return (False, f"instance {instance_id} is {state}")
            return (True, "")

        return threads.deferToThread(look)

    # --- idling and stopping ---------------------------------------------------------

    def stop_instance(self, fast: bool = False) -> defer.Deferred[None]:
        instance_id, self.instance_id = self.instance_id, None
        if instance_id is None:
            return defer.succeed(None)
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
                self._say(f"could not terminate {instance_id}: {_problem(error)}")
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
                    if instance["State"]["Name"] not in _GONE:
                        self._thd_terminate(instance["InstanceId"], wait=False)
        except (ClientError, BotoCoreError) as error:
            self._say(f"could not look for instances of the failed launch: {_problem(error)}")
