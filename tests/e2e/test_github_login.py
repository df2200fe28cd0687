"""Login with GitHub in headless Chromium, against a local GitHub: a member of an admin
team forces a build; anyone else who logs in reads, and every control call gets 403.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from tests.conftest import StartMaster, local_settings
from tests.e2e.test_web_ui import QUICK, browser, builder_page, screenshot
from tests.fake_github import FakeGitHub, Person
from tests.harness import SUCCESS, GitRepo, Master, Session

pytestmark = pytest.mark.slow

CLIENT_ID = "Iv1.test-client"
CLIENT_SECRET = "test-client-secret-value"
PEOPLE = [
    Person("alice", "Alice Admin", {"ClusterHQ": ["CI Admins", "Storage"]}),
    Person("bob", "Bob Builder", {"ClusterHQ": ["Docs"]}),
]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(CLIENT_ID, CLIENT_SECRET, PEOPLE) as server:
        yield server


@pytest.fixture
def master(repo: GitRepo, start_master: StartMaster, github: FakeGitHub) -> Master:
    settings = local_settings(repo.url, QUICK)
    settings["auth"] = {
        "github": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "server_url": github.url,
            "admin_teams": ["ClusterHQ/ci-admins"],
        }
    }
    return start_master(settings)


def log_in(context: BrowserContext, master: Master, github: FakeGitHub, login: str) -> Page:
    """Log in through the UI's "Login with GitHub", signed in at GitHub as ``login``."""
    github.signed_in = login
    page = builder_page(context, master)
    page.get_by_role("button", name="Anonymous").click()
    page.get_by_text("Login with GitHub").click()
    name = next(p.name for p in PEOPLE if p.login == login)
    expect(page.get_by_role("button", name=name)).to_be_visible()
    page.goto(f"{master.url}#/builders/{master.builder('checks')['builderid']}")
    expect(page.get_by_role("button", name="Force build")).to_be_visible()
    return page


def as_browser(context: BrowserContext, master: Master) -> Session:
    """A REST client holding the browser's session cookie."""
    jar = CookieJar()
    for cookie in context.cookies():
        jar.set_cookie(
            Cookie(
                0,
                cookie["name"],
                cookie["value"],
                None,
                False,
                cookie["domain"],
                True,
                False,
                cookie["path"],
                True,
                False,
                None,
                False,
                None,
                None,
                {},
            )
        )
    return Session(master.url, urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)))


def test_a_member_of_an_admin_team_logs_in_with_github_and_forces_a_build(
    master: Master, github: FakeGitHub, playwright: Playwright, tmp_path: Path
) -> None:
    context = browser(playwright, tmp_path / "alice")
    try:
        page = log_in(context, master, github, "alice")
        page.get_by_role("button", name="Force build").click()
        page.get_by_label("Reason").fill("from GitHub login")
        page.get_by_role("button", name="Start build").click()
        result = page.locator(".bb-build-summary-details .bb-badge-status")
        expect(result).to_have_text("SUCCESS", timeout=120_000)
        screenshot(page, "github-login-admin-forced.png")
    finally:
        context.close()

    [build] = master.wait_for_builds(1)
    assert build["results"] == SUCCESS
    assert master.properties(build["buildid"])["owner"] == "alice@example.com"
    # GitHub saw the whole flow: consent, code for token, the user and her teams.
    assert [r for r in github.requests if r[1] != "/api/graphql"] == [
        ("GET", "/login/oauth/authorize"),
        ("POST", "/login/oauth/access_token"),
    ]
    assert github.requests.count(("POST", "/api/graphql")) == 2  # viewer, then teams
    log = (master.cluster.master_dir / "twistd.log").read_text()
    assert CLIENT_SECRET not in log
    assert not any(token in log for token in github.tokens)


def test_anyone_else_who_logs_in_reads_but_is_refused_every_control(
    master: Master, github: FakeGitHub, playwright: Playwright, tmp_path: Path
) -> None:
    context = browser(playwright, tmp_path / "bob")
    try:
        page = log_in(context, master, github, "bob")
        page.get_by_role("button", name="Force build").click()
        page.get_by_role("button", name="Start build").click()
        expect(page.get_by_text("you need to have role 'admins'")).to_be_visible()
        screenshot(page, "github-login-reader-refused.png")
        bob = as_browser(context, master)
    finally:
        context.close()

    assert bob.opener.open(f"{master.url}api/v2/builders", timeout=10).status == 200
    builder = master.builder("checks")
    [worker] = [w for w in master.get("workers")["workers"] if w["name"] == "worker-1"]
    [entry] = master.get("masters")["masters"]
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("forceschedulers/demo-force", "force", {"builderid": builder["builderid"]}),
        (f"builders/{builder['builderid']}/builds/1", "stop", {}),
        (f"builders/{builder['builderid']}/builds/1", "rebuild", {}),
        ("buildrequests/1", "cancel", {}),
        (f"workers/{worker['workerid']}", "pause", {}),
        (f"workers/{worker['workerid']}", "stop", {}),
        (f"masters/{entry['masterid']}", "shutdown", {}),
    ]
    assert [bob.control(path, method, **params)[0] for path, method, params in calls] == [
        403
    ] * len(calls)
    assert master.get("buildrequests")["buildrequests"] == []
