"""The web UI in headless Chromium: an admin logs in and forces a build, or approves a
waiting pull request; a visitor or a reader cannot.

Debian's chromium drives the pages through Playwright (never Playwright's own browser
download). Screenshots go to ``test-output/web-ui/`` (ignored by git) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from tests.conftest import StartMaster, local_settings
from tests.harness import SUCCESS, GitRepo, Master
from tests.integration.test_pull_requests import (
    commit_known,
    deliver,
    fork_commit,
    pull_request,
    settings,
)
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "web-ui"
QUICK = [{"name": "checks", "steps": [{"kind": "run", "name": "hello", "command": ["echo", "hi"]}]}]


@pytest.fixture
def master(repo: GitRepo, start_master: StartMaster) -> Master:
    return start_master(local_settings(repo.url, QUICK))


def browser(playwright: Playwright, profile: Path, **options: Any) -> BrowserContext:
    """Chromium with a fresh profile; ``options`` as for a Playwright browser context."""
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, **options
    )
    context.set_default_timeout(30_000)
    return context


def builder_page(context: BrowserContext, master: Master) -> Page:
    builder = master.builder("checks")
    page = context.new_page()
    page.goto(f"{master.url}#/builders/{builder['builderid']}")
    expect(page.get_by_role("button", name="Anonymous")).to_be_visible()
    expect(page.locator(".navbar-brand")).to_have_text("test master")  # buildmaster.title
    return page


def admin_browser(playwright: Playwright, tmp_path: Path) -> BrowserContext:
    """Chromium that answers the login's challenge as the admin: Buildbot's login is HTTP
    basic auth at /auth/login."""
    credentials = {"username": "admin", "password": "admin-pw"}
    return browser(playwright, tmp_path / "admin", http_credentials=credentials)


def logged_in_admin(context: BrowserContext, master: Master) -> Page:
    """The builder's page, logged in as the admin through the UI's user menu."""
    page = builder_page(context, master)
    page.get_by_role("button", name="Anonymous").click()
    page.get_by_text("Login").click()
    expect(page.get_by_role("button", name="admin")).to_be_visible()
    return page


def screenshot(page: Page, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / name))


def test_admin_logs_in_forces_a_build_and_sees_success(
    master: Master, playwright: Playwright, tmp_path: Path
) -> None:
    admin = admin_browser(playwright, tmp_path)
    try:
        page = logged_in_admin(admin, master)
        page.get_by_role("button", name="Force build").click()
        page.get_by_label("Reason").fill("from the browser")
        page.get_by_role("button", name="Start build").click()

        # The UI follows the new build to its page and updates it live.
        result = page.locator(".bb-build-summary-details .bb-badge-status")
        expect(result).to_have_text("SUCCESS", timeout=120_000)
        expect(page.get_by_text("build successful")).to_be_visible()
        assert "/builds/" in page.url
        screenshot(page, "admin-forced-build-success.png")
    finally:
        admin.close()

    [build] = master.wait_for_builds(1)
    assert build["results"] == SUCCESS
    assert master.properties(build["buildid"])["reason"].endswith("from the browser")
    assert master.properties(build["buildid"])["owner"] == "admin"


def test_anonymous_visitor_is_refused_a_force(
    master: Master, playwright: Playwright, tmp_path: Path
) -> None:
    visitor = browser(playwright, tmp_path / "visitor")
    try:
        page = builder_page(visitor, master)
        page.get_by_role("button", name="Force build").click()
        page.get_by_role("button", name="Start build").click()

        expect(page.get_by_text("you need to have role 'admins'")).to_be_visible()
        screenshot(page, "anonymous-force-refused.png")
    finally:
        visitor.close()

    assert master.get("buildrequests")["buildrequests"] == []


def test_admin_approves_a_waiting_pull_request_and_a_reader_cannot(
    repo: GitRepo,
    start_master: StartMaster,
    playwright: Playwright,
    tmp_path: Path,
    forks: dict[str, Any],
) -> None:
    with RecordingServer(status=201) as github_api:
        approval = start_master(settings(repo, github_api, QUICK, forks=forks))
        sha = fork_commit(repo, 12, {"x.txt": "x\n"})
        commit_known(github_api, repo, sha, "x")
        assert "waits" in deliver(approval, pull_request(repo, "opened", 12, sha))

        for user in ("reader", "admin"):
            context = browser(
                playwright,
                tmp_path / user,
                http_credentials={"username": user, "password": f"{user}-pw"},
            )
            try:
                page = builder_page(context, approval)
                page.get_by_role("button", name="Anonymous").click()
                page.get_by_text("Login").click()
                expect(page.get_by_role("button", name=user)).to_be_visible()
                page.get_by_role("button", name="Approve").click()
                # The form lists what waits, with the commit an approval builds.
                field = page.locator('[data-bb-test-id="force-field-pull_request"]')
                field.click()
                page.get_by_text(f"#12 at {sha}", exact=False).click()
                page.get_by_role("button", name="Start build").click()
                if user == "reader":
                    expect(page.get_by_text("you need to have role 'admins'")).to_be_visible()
                    screenshot(page, "reader-approval-refused.png")
                    assert approval.get("buildrequests")["buildrequests"] == []
                else:
                    [build] = approval.wait_for_builds(1)
                    screenshot(page, "admin-approved-pull-request.png")
            finally:
                context.close()

    props = approval.properties(build["buildid"])
    assert (props["got_revision"], props["pull_request"], props["approved_by"]) == (
        sha,
        12,
        "admin",
    )


SIX_STEPS = [
    {
        "name": "checks",
        "steps": [{"kind": "run", "name": f"quick-{n}", "command": ["true"]} for n in range(1, 7)],
    }
]


def test_a_build_watched_live_lists_its_steps_in_order(
    repo: GitRepo, start_master: StartMaster, playwright: Playwright, tmp_path: Path
) -> None:
    """A forced build's page opens as the build starts: its quick steps start while the
    page's first fetch of them is under way, and still show in their order."""
    master = start_master(local_settings(repo.url, SIX_STEPS))
    admin = admin_browser(playwright, tmp_path)
    try:
        page = logged_in_admin(admin, master)
        page.get_by_role("button", name="Force build").click()
        page.get_by_role("button", name="Start build").click()
        result = page.locator(".bb-build-summary-details .bb-badge-status")
        expect(result).to_have_text("SUCCESS", timeout=120_000)
        shown = page.locator(".bb-build-summary-step-line").all_inner_texts()
        screenshot(page, "build-steps-live.png")
    finally:
        admin.close()
    [build] = master.wait_for_builds(1)
    names = [s["name"] for s in master.steps(build["buildid"]) if not s["hidden"]]
    found = [next(n for n in names if n in line) for line in shown]
    assert found == names, shown


UPLOADER = [
    {
        "name": "checks",
        "steps": [
            {
                "kind": "run",
                "name": "make",
                "command": ["sh", "-c", "mkdir -p site && cp attack.html site/index.html"],
            },
            {"kind": "upload", "name": "site", "source": "site"},
        ],
    }
]
# A page a pull request could publish: its script tries to act as the visitor.
ATTACK = """<!doctype html><title>uploaded</title><p>results</p><script>
document.title = "script ran";
const force = {jsonrpc: "2.0", method: "force", id: 1,
               params: {builderNames: ["checks"], reason: "forged by an upload"}};
fetch("/api/v2/forceschedulers/demo-force", {method: "POST", credentials: "include",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(force)});
fetch("/stolen?" + document.cookie);
</script>"""


def test_an_uploaded_page_cannot_act_with_the_visitors_login(
    repo: GitRepo, start_master: StartMaster, playwright: Playwright, tmp_path: Path
) -> None:
    master = start_master(local_settings(repo.url, UPLOADER))
    repo.commit({"attack.html": ATTACK}, "a page with a script")
    repo.push()
    [build] = master.wait_for_builds(1)
    assert build["results"] == SUCCESS
    page_url = f"{master.url}results/demo/master/checks-{build['number']}/site/index.html"

    admin = admin_browser(playwright, tmp_path)
    try:
        logged_in_admin(admin, master)  # the admin's session is in this browser
        page = admin.new_page()
        page.goto(page_url)
        expect(page.get_by_text("results")).to_be_visible()
        page.wait_for_timeout(3000)  # time for its script, had it run, to act
        title = page.title()
        screenshot(page, "uploaded-page-sandboxed.png")
    finally:
        admin.close()

    assert title == "uploaded"  # the script never ran
    assert len(master.get("buildrequests")["buildrequests"]) == 1  # nothing forged
