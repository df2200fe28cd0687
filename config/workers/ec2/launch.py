"""Launch planning: how a worker's instances start, and in which order its offers are tried.

Plain values and pure functions (no AWS call, no Buildbot), so they are tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Launch:
    """How every instance of one worker is launched: plain values Buildbot can compare."""

    region: str
    endpoint_url: str | None
    ami_name: str
    ami_owners: tuple[str, ...]
    production_only: bool
    instance_types: tuple[str, ...]
    subnets: tuple[str | None, ...]
    market: str
    """``spot``, ``spot-then-on-demand`` or ``on-demand``."""
    max_spot_price: float
    capacity_skip: float
    instance_profile: str | None
    keypair: str
    security_group: str | None
    pool: str
    on_demand_prices: tuple[tuple[str, float], ...]
    """USD per hour by instance type, for the cost figures."""
    tags: tuple[tuple[str, str], ...]
    start_timeout: float
    api_attempts: int
    template: str
    values: tuple[tuple[str, str], ...]
    """The user-data template and its values other than the password."""


CAPACITY_ERRORS = frozenset(
    {
        "InsufficientInstanceCapacity",
        "SpotMaxPriceTooLow",
        "MaxSpotInstanceCountExceeded",
        "InstanceLimitExceeded",
        "Unsupported",
    }
)
"""AWS's answers that another instance type, subnet or market may not get."""


@dataclass(frozen=True)
class Offer:
    """One way to launch an instance: its type, its subnet (None: the default) and market."""

    instance_type: str
    subnet: str | None
    market: str

    def __str__(self) -> str:
        return f"{self.market} {self.instance_type} in {self.subnet or 'the default subnet'}"


def offers(launch: Launch) -> list[Offer]:
    """Every way ``launch`` may start an instance, in order of preference: each instance
    type in the first subnet, then in the next; spot before on-demand."""
    markets = {
        "spot": ("spot",),
        "on-demand": ("on-demand",),
        "spot-then-on-demand": ("spot", "on-demand"),
    }[launch.market]
    return [
        Offer(instance_type, subnet, market)
        for market in markets
        for subnet in launch.subnets
        for instance_type in launch.instance_types
    ]


def image_name_pattern(ami_name: str) -> re.Pattern[str]:
    """Exactly ``ami_name``, or it with a ``/YYYYmmdd.HHMMSS`` suffix (AMI names are unique)."""
    return re.compile(rf"{re.escape(ami_name)}(?:/\d{{8}}\.\d{{6}})?")


def tags_of(resource: Mapping[str, Any]) -> dict[str, str]:
    """An instance's or image's tags (AWS gives a list of ``Key``/``Value`` pairs)."""
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def newest_image(
    images: Sequence[Mapping[str, Any]], ami_name: str, production_only: bool
) -> Mapping[str, Any] | None:
    """The newest available image named ``ami_name`` (see :func:`image_name_pattern`)."""
    pattern = image_name_pattern(ami_name)

    def fits(image: Mapping[str, Any]) -> bool:
        tags = tags_of(image)
        return (
            image.get("State") == "available"
            and pattern.fullmatch(image.get("Name") or "") is not None
            and (not production_only or tags.get("production") == "true")
        )

    candidates = [i for i in images if fits(i)]
    return max(candidates, key=lambda i: (i["CreationDate"], i["Name"]), default=None)
