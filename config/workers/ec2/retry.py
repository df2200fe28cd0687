"""When an AWS call is asked again, and after how long: pure values, tested alone.

Which errors pass is botocore's own judgement (its "standard" retry mode's checkers):
throttling codes (``RequestLimitExceeded``, ``Throttling``, ...), transient codes and HTTP
statuses (500, 502, 503, 504), and connection errors. We ask botocore for the verdict
only: its clients make each call once (:func:`config.workers.ec2.aws.client`), and the
waiting between tries happens on the reactor, never in a thread.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from botocore.exceptions import ClientError
from botocore.retries.standard import (
    RetryContext,
    ThrottledRetryableChecker,
    TransientRetryableChecker,
)

from config.workers.ec2.launch import CAPACITY_ERRORS

_CHECKERS = (TransientRetryableChecker(), ThrottledRetryableChecker())


def transient(error: BaseException) -> bool:
    """Whether the same call may well succeed if asked again: AWS throttled it, failed
    inside, or the connection broke. A capacity error is no such thing (AWS answers
    ``InsufficientInstanceCapacity`` with a 500): another offer is the better try."""
    response = error.response if isinstance(error, ClientError) else None
    if response is not None and response.get("Error", {}).get("Code") in CAPACITY_ERRORS:
        return False
    status = (response or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    context = RetryContext(
        attempt_number=1,
        parsed_response=response,
        http_response=SimpleNamespace(status_code=status) if status else None,
        caught_exception=None if response is not None else error,
    )
    return any(checker.is_retryable(context) for checker in _CHECKERS)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, as botocore's standard mode and AWS's
    guidance have it: before try ``n + 1``, a wait drawn from ``[0, min(cap, first * 2**(n
    - 1))]``, so that many workers refused at once do not ask again at once."""

    first: float = 0.5
    cap: float = 20.0

    def ceiling(self, failures: int) -> float:
        """The longest wait after ``failures`` failed tries in a row (1 or more)."""
        return min(self.cap, self.first * 2.0 ** max(0, failures - 1))

    def delay(self, failures: int, draw: Callable[[float, float], float] = random.uniform) -> float:
        """How long to wait after ``failures`` failed tries in a row."""
        return float(draw(0.0, self.ceiling(failures)))
