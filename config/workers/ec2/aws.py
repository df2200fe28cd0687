"""EC2 clients for the workers, and AWS's answers in a line."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from config.workers.ec2.launch import Launch

LAUNCH_TAG = "buildbot-launch"
"""Tag naming the launch an instance came from, to find it again if the launch call fails."""

GONE = ("shutting-down", "terminated", "stopping", "stopped")
ALIVE = ["pending", "running", "stopping", "stopped"]
"""States of an instance that a terminate call still has to end."""


def client(launch: Launch, access_key_id: str | None, secret_access_key: str | None) -> Any:
    """An EC2 client for ``launch`` that makes each call once: botocore's own retries sleep
    in the calling thread, so the workers ask again themselves, from the reactor (see
    :mod:`config.workers.ec2.calls`). Making it does not talk to AWS. Without keys,
    boto3's default chain finds credentials (the instance role, ``AWS_*`` variables, a
    profile)."""
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=launch.region,
    )
    return session.client(
        "ec2",
        endpoint_url=launch.endpoint_url,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=10,
            read_timeout=60,
        ),
    )


def code(error: BaseException) -> str:
    """The AWS error code of a refused call, or ''."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def problem(error: BaseException) -> str:
    """An AWS error as ``Code: message``, without botocore's operation preamble."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
    return str(error)


# --- single calls: each blocks for one AWS request, so each runs in a thread ------------


def thd_state(ec2: Any, instance_id: str) -> str:
    """The instance's state; a fresh instance briefly unknown to AWS is ``pending``."""
    try:
        found = ec2.describe_instances(InstanceIds=[instance_id])
    except ClientError as error:
        if code(error) == "InvalidInstanceID.NotFound":
            return "pending"
        raise
    state: str = found["Reservations"][0]["Instances"][0]["State"]["Name"]
    return state


def thd_terminate(ec2: Any, instance_id: str) -> None:
    """Terminate the instance (and so its spot request); one AWS knows not is gone."""
    try:
        ec2.terminate_instances(InstanceIds=[instance_id])
    except ClientError as error:
        if code(error) != "InvalidInstanceID.NotFound":
            raise


def thd_tagged(ec2: Any, tags: dict[str, str]) -> list[dict[str, Any]]:
    """The instances not terminated (nor terminating) that carry every one of ``tags``."""
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in tags.items()]
    filters.append({"Name": "instance-state-name", "Values": ALIVE})
    found = ec2.describe_instances(Filters=filters)
    return [i for r in found["Reservations"] for i in r["Instances"]]
