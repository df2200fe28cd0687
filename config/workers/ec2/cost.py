"""What a worker's instances cost: their lifetimes and prices, for ``/metrics`` and the
builds' properties. Spot prices come from AWS's price history; on-demand ones from the
settings (``aws.on_demand_prices``)."""

from __future__ import annotations

import datetime
from typing import Any

Key = tuple[str, str, str]
"""Pool, instance type and market."""
Usage = dict[Key, tuple[float, float]]
"""Instance-seconds and estimated USD, by :data:`Key`."""


class Spending:
    """The instance-seconds and estimated dollars of one worker's instances so far."""

    def __init__(self) -> None:
        self.spent: Usage = {}
        self.running: tuple[Key, float, float | None] | None = None
        """The running instance's key, since when it runs, and its USD per hour."""

    def started(self, key: Key, now: float, price: float | None) -> None:
        self.running = (key, now, price)

    def ended(self, now: float) -> None:
        """The running instance is ending: its lifetime joins what was spent."""
        self.spent = self.usage(now)
        self.running = None

    def usage(self, now: float) -> Usage:
        """What was spent, the running instance counted up to ``now``."""
        found = dict(self.spent)
        if self.running is not None:
            key, since, price = self.running
            seconds = max(0.0, now - since)
            before = found.get(key, (0.0, 0.0))
            found[key] = (before[0] + seconds, before[1] + seconds / 3600 * (price or 0.0))
        return found


def thd_spot_price(ec2: Any, instance_type: str, zone: str) -> float | None:
    """The newest spot price (USD per hour) of ``instance_type`` in ``zone``, if AWS has
    one; AWS's errors go to the caller. Blocks: call it in a thread."""
    history = ec2.describe_spot_price_history(
        InstanceTypes=[instance_type],
        ProductDescriptions=["Linux/UNIX"],
        AvailabilityZone=zone,
        StartTime=datetime.datetime.now(datetime.UTC),
    )["SpotPriceHistory"]
    here = [h for h in history if h.get("AvailabilityZone") == zone]
    newest = max(here, key=lambda h: h["Timestamp"], default=None)
    return float(newest["SpotPrice"]) if newest else None
