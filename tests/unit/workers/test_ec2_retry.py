"""Which AWS refusals the EC2 workers ask again, and how long they wait before."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from config.workers.ec2.retry import Backoff, transient


def refused(code: str, status: int) -> ClientError:
    """A ClientError as botocore raises it for an EC2 error answer."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"test: {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "DescribeInstances",
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("RequestLimitExceeded", 503),  # EC2's throttling
        ("Throttling", 400),
        ("ServiceUnavailable", 503),
        ("Unavailable", 503),
        ("InternalError", 500),
        ("SomethingNew", 502),  # any 5xx botocore counts as passing
        ("SomethingNew", 504),
        ("RequestTimeout", 400),
    ],
)
def test_throttling_and_aws_failing_inside_are_asked_again(code: str, status: int) -> None:
    assert transient(refused(code, status))


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("InvalidInstanceID.Malformed", 400),
        ("UnauthorizedOperation", 403),
        ("AuthFailure", 401),
        ("InvalidAMIID.NotFound", 400),
        # AWS answers a capacity error with a 500: the next offer is the better try.
        ("InsufficientInstanceCapacity", 500),
        ("SpotMaxPriceTooLow", 400),
    ],
)
def test_what_asking_again_cannot_change_is_not_asked_again(code: str, status: int) -> None:
    assert not transient(refused(code, status))


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://ec2.us-west-2.amazonaws.com/"),
        ConnectTimeoutError(endpoint_url="https://ec2.us-west-2.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://ec2.us-west-2.amazonaws.com/"),
    ],
)
def test_broken_connections_are_asked_again(error: Exception) -> None:
    assert transient(error)


@pytest.mark.parametrize("error", [NoCredentialsError(), ValueError("a bug of ours")])
def test_other_errors_are_not_asked_again(error: Exception) -> None:
    assert not transient(error)


def test_the_longest_wait_doubles_from_the_first_up_to_the_cap() -> None:
    backoff = Backoff(first=0.5, cap=5.0)
    assert [backoff.ceiling(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_each_wait_is_drawn_between_nothing_and_the_longest() -> None:
    backoff = Backoff(first=1.0, cap=20.0)
    asked: list[tuple[float, float]] = []

    def draw(low: float, high: float) -> float:
        asked.append((low, high))
        return high / 2

    assert backoff.delay(3, draw) == 2.0
    assert asked == [(0.0, 4.0)]


def test_full_jitter_spreads_the_waits_within_bounds() -> None:
    backoff = Backoff(first=1.0, cap=8.0)
    waits = [backoff.delay(10) for _ in range(200)]
    assert all(0.0 <= wait <= 8.0 for wait in waits)
    assert len({round(wait, 3) for wait in waits}) > 100  # not one fixed wait for all
