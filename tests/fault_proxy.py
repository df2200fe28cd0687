"""A small HTTP proxy in front of moto_server that answers chosen EC2 calls with AWS's
errors, so boto3 sends real requests and gets real error responses.

moto always has capacity; AWS often has none of one instance type in one zone, or none
at the price asked. A test says which calls to refuse by the EC2 query parameters they
carry (``Action``, ``InstanceType``, ``SubnetId``, ``InstanceMarketOptions.MarketType``),
always or a number of times; every other call goes on to moto_server unchanged, after
``delay`` seconds if set (a slow AWS). Every call's parameters, and the access key it was
signed with, are recorded.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

from tests.loopback import LoopbackServer

SPOT = "InstanceMarketOptions.MarketType"


@dataclass
class Refusal:
    """Calls whose parameters include all of ``match`` get error ``code`` with ``status``
    (the next ``times`` such calls only, if given)."""

    match: tuple[tuple[str, str], ...]
    code: str
    status: int
    times: int | None = None

    def fits(self, params: dict[str, str]) -> bool:
        return all(params.get(key) == value for key, value in self.match)


class FaultProxy(LoopbackServer):
    """``with FaultProxy(moto_url) as proxy:`` boto3 pointed at ``proxy.url``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.refusals: list[Refusal] = []
        self.calls: list[dict[str, str]] = []
        self.access_keys: set[str] = set()
        """The access key ids the calls were signed with."""
        self.replies: dict[str, str] = {}
        """Answers (EC2's XML) given instead of moto's, by action."""
        self.delay = 0.0
        """Seconds each call forwarded to moto_server waits first."""
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = dict(parse_qsl(body.decode()))
                proxy.calls.append(params)
                signed = self.headers.get("Authorization", "").partition("Credential=")[2]
                proxy.access_keys.add(signed.split("/")[0])
                refusal = proxy.refusal(params)
                if refusal is not None:
                    self.answer(refusal.status, "text/xml", error_xml(refusal.code).encode())
                    return
                if params.get("Action") in proxy.replies:
                    self.answer(200, "text/xml", proxy.replies[params["Action"]].encode())
                    return
                time.sleep(proxy.delay)
                request = urllib.request.Request(
                    proxy.upstream + self.path,
                    data=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, content_type, data = answer.status, answer.headers, answer.read()
                except urllib.error.HTTPError as error:
                    status, content_type, data = error.code, error.headers, error.read()
                self.answer(status, content_type.get("Content-Type", "text/xml"), data)

            def answer(self, status: int, content_type: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(Handler)

    def refuse(self, code: str, status: int = 500, **match: str) -> None:
        """Answer calls carrying every ``match`` parameter with AWS error ``code``."""
        self.refusals.append(Refusal(tuple(match.items()), code, status))

    def refuse_next(self, times: int, code: str, status: int, **match: str) -> None:
        """Answer the next ``times`` calls carrying every ``match`` parameter with AWS
        error ``code``; pass the ones after."""
        self.refusals.append(Refusal(tuple(match.items()), code, status, times))

    def refusal(self, params: dict[str, str]) -> Refusal | None:
        """The refusal a call gets, if any, counted."""
        with self._lock:
            refusal = next((r for r in self.refusals if r.fits(params)), None)
            if refusal is not None and refusal.times is not None:
                refusal.times -= 1
                if refusal.times == 0:
                    self.refusals.remove(refusal)
            return refusal

    def count(self, action: str) -> int:
        """How many calls of ``action`` came."""
        return sum(1 for c in list(self.calls) if c.get("Action") == action)

    def spot_price(self, instance_type: str, zones: list[str], price: float) -> None:
        """Answer ``DescribeSpotPriceHistory`` with ``price`` in each of ``zones``, as EC2
        words it (moto's prices are made up, and it ignores the filters)."""
        items = "".join(
            f"<item><instanceType>{instance_type}</instanceType>"
            "<productDescription>Linux/UNIX</productDescription>"
            f"<spotPrice>{price}</spotPrice><timestamp>2026-12-01T10:00:00.000Z</timestamp>"
            f"<availabilityZone>{zone}</availabilityZone></item>"
            for zone in zones
        )
        self.replies["DescribeSpotPriceHistory"] = (
            "<DescribeSpotPriceHistoryResponse><spotPriceHistorySet>"
            f"{items}</spotPriceHistorySet></DescribeSpotPriceHistoryResponse>"
        )

    def launches(self) -> list[tuple[str, str, str]]:
        """Each RunInstances call's instance type, subnet and market, in order."""
        return [
            (c.get("InstanceType", ""), c.get("SubnetId", "-"), c.get(SPOT, "on-demand"))
            for c in self.calls
            if c.get("Action") == "RunInstances"
        ]


def error_xml(code: str) -> str:
    """An EC2 error answer, as AWS words it."""
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
        f"<Message>injected: {code}</Message></Error></Errors>"
        "<RequestID>fault-proxy</RequestID></Response>"
    )
