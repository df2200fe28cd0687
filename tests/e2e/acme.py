"""Let's Encrypt's ACME test server (Debian's pebble) issuing the HTTPS proxy's
certificate, and the checks of what the proxy answers, for the suites that put caddy in
front of a master."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import run
from tests.harness import free_port, wait_for


@dataclass
class Pebble:
    """Let's Encrypt's ACME test server, validating challenges on the proxy's ports."""

    directory: str
    listener_ca: Path  # the certificate of pebble's own HTTPS listener
    management: str
    http_port: int
    https_port: int

    def issuing_root(self) -> str:
        """The root certificate (PEM) of what pebble issues."""
        context = ssl.create_default_context(cafile=str(self.listener_ca))
        with urllib.request.urlopen(f"{self.management}/roots/0", context=context) as answer:
            return str(answer.read().decode())


@contextlib.contextmanager
def running_pebble(root: Path) -> Iterator[Pebble]:
    """pebble on free loopback ports, its files in ``root``; stopped after."""
    if shutil.which("pebble") is None:
        pytest.fail("no pebble (Debian's package; .ci/run installs it)")
    root.mkdir(parents=True, exist_ok=True)
    certificate = ["openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=pebble"]
    run(
        [
            *certificate,
            *["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
            *["-addext", "subjectAltName=IP:127.0.0.1"],
            *["-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        ]
    )
    ports = {name: free_port() for name in ("acme", "management", "http", "https")}
    config = {
        "listenAddress": f"127.0.0.1:{ports['acme']}",
        "managementListenAddress": f"127.0.0.1:{ports['management']}",
        "certificate": str(root / "cert.pem"),
        "privateKey": str(root / "key.pem"),
        "httpPort": ports["http"],
        "tlsPort": ports["https"],
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }
    (root / "pebble.json").write_text(json.dumps({"pebble": config}))
    # No random sleeps before validating, no random nonce refusals: a deterministic server.
    env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
    with (root / "pebble.log").open("w") as log:
        process = subprocess.Popen(
            ["pebble", "-config", str(root / "pebble.json")], stdout=log, stderr=log, env=env
        )
    server = Pebble(
        directory=f"https://127.0.0.1:{ports['acme']}/dir",
        listener_ca=root / "cert.pem",
        management=f"https://127.0.0.1:{ports['management']}",
        http_port=ports["http"],
        https_port=ports["https"],
    )
    try:
        wait_for("pebble", lambda: _pebble_answers(server), timeout=30)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def _pebble_answers(server: Pebble) -> bool:
    try:
        server.issuing_root()
        return True
    except OSError:
        return False


def https_settings(pebble: Pebble) -> dict[str, Any]:
    """deploy.https with certificates from pebble."""
    return {
        "acme_directory": pebble.directory,
        "acme_ca_root": str(pebble.listener_ca),
        "http_port": pebble.http_port,
        "https_port": pebble.https_port,
    }


def check_https(settings: dict[str, Any], pebble: Pebble) -> None:
    """The proxy answers HTTPS with pebble's certificate, HSTS and a Secure session
    cookie; plain HTTP gets a redirect before any request body crosses."""
    ssl_context = ssl.create_default_context(cadata=pebble.issuing_root())
    url = settings["buildmaster"]["public_url"]

    def answers() -> bool:
        try:
            with urllib.request.urlopen(
                f"{url}api/v2/builders", context=ssl_context, timeout=10
            ) as page:
                return bool(page.status == 200)
        except OSError:
            return False

    wait_for("the proxy's certificate from pebble", answers, timeout=120)
    cookies = CookieJar()
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, url, "admin", "admin-pw")
    browser = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=ssl_context),
        urllib.request.HTTPCookieProcessor(cookies),
        urllib.request.HTTPBasicAuthHandler(passwords),
    )
    with browser.open(f"{url}auth/login", timeout=10) as page:
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert [(c.name, c.secure) for c in cookies] == [("TWISTED_SESSION", True)]

    # A login on plain HTTP: its headers are answered with a redirect to HTTPS at once,
    # before the body it announces is sent (it never is: a proxy that passed the request
    # on, or read the body first, would leave this waiting), and no session is made.
    plain = http.client.HTTPConnection("localhost", pebble.http_port, timeout=30)
    try:
        plain.putrequest("POST", "/auth/login")
        plain.putheader("Authorization", "Basic " + base64.b64encode(b"admin:pw").decode())
        plain.putheader("Content-Length", "1000000")
        plain.endheaders()
        answer = plain.getresponse()
        assert answer.status == 308
        assert answer.headers["Location"] == f"{url}auth/login"
        assert answer.headers["Set-Cookie"] is None
    finally:
        plain.close()
