"""What GitHub says (a pull request's title, a branch's name) is shown in Zulip as itself:
no mention, link, emphasis or code block it spells is made."""

from __future__ import annotations

from typing import Any

from buildbot.process.results import SUCCESS

from config.zulip.messages import code, summary, text

HOSTILE_TITLE = "Fix @**all** [click](https://evil.example) *now*\n```\nfake block"


def pr_build(title: str) -> dict[str, Any]:
    properties = {
        "pull_request": (12, "Change"),
        "pull_request_title": (title, "Change"),
        "pull_request_url": ("https://github.com/o/r/pull/12) [x](https://evil.example", "Change"),
    }
    return {
        "builder": {"name": "checks"},
        "number": 1,
        "url": "http://ci/#/builders/1/builds/1",
        "results": SUCCESS,
        "properties": properties,
    }


def test_github_text_makes_no_markdown_in_a_summary() -> None:
    sourcestamp = {"branch": "x`@**all**`y", "revision": "ab" * 20, "repository": "/srv/r.git"}
    message = summary([pr_build(HOSTILE_TITLE)], sourcestamp)

    title_line = message.splitlines()[1]
    assert title_line.startswith("Pull request [#12 Fix \\@\\*\\*all\\*\\* \\[click\\]")
    assert "\n```" not in message  # no block the title opened
    # The address cannot close the link early and open another.
    assert title_line.endswith(
        "(https://github.com/o/r/pull/12%29%20%5Bx%5D%28https://evil.example)"
    )
    assert "Branch ``x`@**all**`y`` at" in message  # code, whatever backticks it holds


def test_text_and_code_keep_what_they_show() -> None:
    assert text("release-1.2 v3.0 (beta)") == "release-1.2 v3.0 \\(beta\\)"
    assert code("`x`") == "`` `x` ``"
    assert code("feature/x") == "`feature/x`"
