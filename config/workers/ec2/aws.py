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


def client(
    launch: Launch,
    access_key_id: str | None,
    secret_access_key: str | None,
    attempts: int | None = None,
) -> Any:
    """An EC2 client for ``launch`` that tries each call ``attempts`` times (by default
    ``launch.api_attempts``); making it does not talk to AWS. Without keys, boto3's
    default chain finds credentials (the instance role, ``AWS_*`` variables, a profile)."""
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=launch.region,
    )
    return session.client(
        "ec2",
        endpoint_url=launch.endpoint_url,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": attempts or launch.api_attempts},
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
