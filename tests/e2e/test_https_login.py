"""A browser logs in over HTTPS: headless Chromium, real caddy in front of a real master,
with the certificate that pebble (Let's Encrypt's ACME test server) issued for localhost.

Chromium trusts pebble's root as an operator's browser trusts a private CA: in the NSS
database of its user's home (Debian's ``certutil``), with every certificate check on. It
comes through plain HTTP first, as a visitor typing the host name would, and is sent to
HTTPS before anything of the login crosses.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Playwright, Request, expect

from config.settings import validate
from deploy import caddyfile
from local.cluster import LocalCluster
from tests.conftest import local_settings
from tests.e2e.acme import Pebble, check_https, https_settings, running_pebble
from tests.e2e.conftest import run
from tests.e2e.test_web_ui import QUICK, browser
from tests.harness import GitRepo

pytestmark = pytest.mark.slow


@dataclass
class Front:
    """A master behind caddy: its settings (``public_url`` is the proxy's HTTPS address)."""

    settings: dict[str, Any]
    pebble: Pebble

    @property
    def public_url(self) -> str:
        return str(self.settings["buildmaster"]["public_url"])

    @property
    def plain_url(self) -> str:
        return f"http://localhost:{self.pebble.http_port}/"


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    root = tmp_path_factory.mktemp("https-login")
    repo = GitRepo.started(root / "repo")
    with running_pebble(root / "pebble") as pebble:
        https = https_settings(pebble)
        public_url = f"https://localhost:{https['https_port']}/"
        document = local_settings(
            repo.url,
            QUICK,
            buildmaster={"host": "localhost", "public_url": public_url},
            deploy={"https": https},
        )
        # The Caddyfile fab gives the proxy, with the host's path of the ACME server's
        # root where the proxy's container has it mounted.
        config = caddyfile.render(validate(document))
        config = config.replace(caddyfile.ACME_CA_ROOT, str(pebble.listener_ca))
        (root / "Caddyfile").write_text(config)
        cluster = LocalCluster(root / "cluster", document)
        caddy = None
        try:
            cluster.start()
            home = root / "caddy-home"  # its certificates and ACME account
            with (root / "caddy.log").open("w") as log:
                caddy = subprocess.Popen(
                    ["caddy", "run", "--adapter", "caddyfile", "--config", str(root / "Caddyfile")],
                    env={**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data")},
                    stdout=log,
                    stderr=log,
                )
            front = Front(document, pebble)
            check_https(document, pebble)  # waits for the certificate
            yield front
        finally:
            if caddy is not None:
                caddy.terminate()
                caddy.wait(timeout=30)
            cluster.stop()


def trusting_home(home: Path, root_certificate: str) -> Path:
    """A home whose NSS database (where Chromium on Linux looks for the user's CAs)
    trusts ``root_certificate`` to issue web servers' certificates."""
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True)
    (home / "root.pem").write_text(root_certificate)
    run(["certutil", "-N", "-d", f"sql:{database}", "--empty-password"])
    trust = ["-A", "-t", "C,,", "-n", "pebble root", "-i", str(home / "root.pem")]
    run(["certutil", "-d", f"sql:{database}", *trust])
    return home


def test_chromium_logs_in_over_https_and_nothing_of_it_crosses_plain_http(
    front: Front, playwright: Playwright, tmp_path: Path
) -> None:
    home = trusting_home(tmp_path / "home", front.pebble.issuing_root())
    context = browser(
        playwright,
        tmp_path / "profile",
        env={**os.environ, "HOME": str(home)},
        # Answers the login's challenge from any origin, plain HTTP too, were it asked.
        http_credentials={"username": "admin", "password": "admin-pw"},
    )
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))
    try:
        page = context.new_page()
        # Typed without https://: sent to HTTPS at once, before the UI loads.
        answer = page.goto(front.plain_url)
        assert answer is not None and answer.request.redirected_from is not None
        redirect = answer.request.redirected_from
        assert redirect.url == front.plain_url
        redirected = redirect.response()
        assert redirected is not None and redirected.status == 308
        assert redirected.headers["location"] == front.public_url
        assert page.url == front.public_url
        page.get_by_role("button", name="Anonymous").click()
        page.get_by_text("Login").click()
        expect(page.get_by_role("button", name="admin")).to_be_visible()
        assert page.url.startswith(front.public_url)
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["TWISTED_SESSION"]["secure"] is True

        sent = [(r.url, r.all_headers()) for r in requests]
    finally:
        context.close()
    # The login went to the HTTPS address only (its answer to the challenge, which
    # Chromium sends on the same request, is not listed on its own).
    logins = [url for url, _ in sent if "/auth/login" in url]
    assert logins and all(url.startswith(f"{front.public_url}auth/login") for url in logins)
    # Of plain HTTP, one request crossed, carrying no password and no session.
    plain = [(url, headers) for url, headers in sent if url.startswith("http:")]
    assert [url for url, _ in plain] == [front.plain_url]
    assert not {"authorization", "cookie"} & set(plain[0][1])
