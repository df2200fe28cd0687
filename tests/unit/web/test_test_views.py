"""The test results view: stored rows as shown, flaky runs marked, hostile text escaped."""

from __future__ import annotations

from types import SimpleNamespace

from flask import render_template

from config.web.test_views.app import AT_ONCE, HEADERS, make_app
from config.web.test_views.queries import (
    BuildResults,
    Entry,
    History,
    StepResults,
    mark_flaky,
    result,
    tree,
)

HOSTILE = '<img src=x onerror="alert(1)">'


def entry(number: int, tree: str, outcome: str) -> Entry:
    return Entry(
        buildid=number, number=number, build_results=0, tree=tree, outcome=outcome, message=""
    )


def test_a_stored_test_is_its_outcome_message_and_location() -> None:
    shown = result(
        {
            "test_name": "pkg.test_a",
            "value": "failed: AssertionError: no\ntraceback",
            "test_code_path": "pkg/test_a.py",
            "line": 7,
            "duration_ns": 1_500_000_000,
        },
        "test",
    )
    assert (shown.outcome, shown.message) == ("failed", "AssertionError: no\ntraceback")
    assert (shown.location, shown.seconds) == ("pkg/test_a.py:7", "1.500 s")
    assert result({"test_name": "t", "value": "passed"}, "test").outcome == "passed"


def test_a_finding_is_its_message() -> None:
    shown = result(
        {"test_name": "E501", "value": "80: line too long", "test_code_path": "a.py", "line": 3},
        "lint",
    )
    assert (shown.outcome, shown.message, shown.location) == (
        "finding",
        "80: line too long",
        "a.py:3",
    )


def test_outcomes_that_differ_on_one_tree_are_flaky() -> None:
    marked = mark_flaky(
        [
            entry(4, "aaa", "passed"),
            entry(3, "aaa", "failed"),
            entry(2, "bbb", "failed"),
            entry(1, "ccc", "flaky"),
            entry(0, "aaa", "skipped"),
        ]
    )
    assert [e.flaky for e in marked] == [True, True, False, True, False]


def test_a_build_without_a_known_tree_is_never_flaky_by_tree() -> None:
    marked = mark_flaky([entry(2, "", "passed"), entry(1, "", "failed")])
    assert [e.flaky for e in marked] == [False, False]


def test_the_tree_is_the_merge_then_the_checkout() -> None:
    merged = {"merged_revision": ("m1", "merge"), "got_revision": ("g1", "git")}
    assert tree(merged) == "m1"
    assert tree({"got_revision": ("g1", "git")}) == "g1"
    assert tree({}) == ""


def rendered(template: str, **context: object) -> str:
    app = make_app()
    app.buildbot_api = SimpleNamespace(  # type: ignore[attr-defined]
        master=SimpleNamespace(config=SimpleNamespace(buildbotURL="http://ci.example/"))
    )
    with app.test_request_context():
        return render_template(template, **context)


def test_hostile_names_and_messages_render_as_text() -> None:
    hostile = result(
        {"test_name": HOSTILE, "value": f"failed: {HOSTILE}", "test_code_path": HOSTILE},
        "test",
    )
    build = {"buildid": 9, "builderid": 2, "number": 5, "results": 2}
    sets = [
        StepResults(HOSTILE, "test", HOSTILE, 1, 1, [hostile], [hostile]),
        StepResults("lint", "lint", "", 0, 1, [hostile], []),
    ]
    page = rendered("build.html", found=BuildResults(build, HOSTILE, sets))
    history = History(2, HOSTILE, HOSTILE, [Entry(9, 5, 2, HOSTILE, "failed", HOSTILE)])
    page += rendered("history.html", found=history)

    assert "<img" not in page
    assert '<span class="bb-badge-status results_FAILURE">failed</span>' in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    # A name reaches a link only quoted, in the query.
    assert 'href="/history/2?test=%3Cimg+src%3Dx+onerror%3D%22alert(1)%22%3E"' in page


def test_pages_allow_no_script() -> None:
    policy = HEADERS["Content-Security-Policy"]
    assert policy.startswith("default-src 'none';")
    assert "script-src" not in policy and "unsafe" not in policy


def test_past_its_share_of_threads_the_view_answers_busy_at_once() -> None:
    app = make_app()
    answering = app.extensions["answering"]
    for _ in range(AT_ONCE):  # as many requests as it answers at once, still reading
        assert answering.acquire(blocking=False)
    with app.test_client() as client:
        busy = client.get("/history/2?test=x")  # would hang on a reactor that is not there
    assert (busy.status_code, busy.text) == (503, "Busy: try again.\n")
    assert busy.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]
    assert not answering.acquire(blocking=False)  # the busy answer released nothing
