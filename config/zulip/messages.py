"""What the Zulip messages say: a buildset's summary, a main branch's alert."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
)

from config.builds.result_steps import FAILED_TESTS, FLAKY_TESTS
from config.settings import Project

# Results that count as passed: listed together on the summary's first line.
PASSED = (SUCCESS, WARNINGS, SKIPPED)
EMOJI = {
    SUCCESS: ":white_check_mark:",
    WARNINGS: ":white_check_mark:",
    SKIPPED: ":white_check_mark:",
    FAILURE: ":x:",
    EXCEPTION: ":heavy_exclamation_mark:",
    CANCELLED: ":interrobang:",
    RETRY: ":repeat:",
}
EXPECTED_FAILURE = "expected_failure"


# What can start Markdown inside a line (Zulip's is Python-Markdown's, plus mentions,
# stream links and math: @, # and $); builder names and commit ids are ours and plain.
MARKDOWN = re.compile(r"([\\`*_{}\[\]()#!|<>~@$])")


def text(value: Any) -> str:
    """Text from GitHub or a build (a title, an author), shown as itself in Markdown: no
    link, mention, emphasis or new block it might spell is made."""
    return MARKDOWN.sub(r"\\\1", " ".join(str(value).split()))


def code(value: Any) -> str:
    """A value (a branch name) as inline code, whatever backticks it holds."""
    shown = " ".join(str(value).split())
    fence = "`" * (max((len(run) for run in re.findall("`+", shown)), default=0) + 1)
    padded = f" {shown} " if shown.startswith("`") or shown.endswith("`") else shown
    return f"{fence}{padded}{fence}"


def url(value: Any) -> str:
    """An address inside a Markdown link's parentheses."""
    return quote(str(value), safe=":/?&=#%@+,;~")


def _prop(build: dict[str, Any], name: str) -> Any:
    return build.get("properties", {}).get(name, (None,))[0]


def is_expected_failure(build: dict[str, Any]) -> bool:
    """A non-passing build of a builder listed in its project's ``failing_builders``."""
    return bool(_prop(build, EXPECTED_FAILURE)) and build["results"] not in PASSED


def commit_link(repository: str | None, revision: str | None) -> str:
    """The commit as a Markdown link where the repository is on the web, else as code."""
    if not revision:
        return "(no revision)"
    if repository and repository.startswith(("https://", "http://")):
        base = repository.rstrip("/").removesuffix(".git")
        return f"[{revision[:12]}]({url(f'{base}/commit/{revision}')})"
    return code(revision[:12])


def _emoji(build: dict[str, Any]) -> str:
    return EMOJI.get(build["results"], EMOJI[EXCEPTION])


def _link(build: dict[str, Any]) -> str:
    return f"[{build['builder']['name']}]({url(build['url'])}){_tests(build)}"


NAMED = 3
"""How many of a build's failing (or flaky) tests a summary names."""


def _tests(build: dict[str, Any]) -> str:
    """The first failing and flaky tests of the build, if its steps named any."""
    parts = []
    for word, name in (("failed", FAILED_TESTS), ("flaky", FLAKY_TESTS)):
        tests = [t for t in _prop(build, name) or [] if isinstance(t, str)]
        if tests:
            more = ", ..." if len(tests) > NAMED else ""
            parts.append(f"{word}: " + ", ".join(code(t) for t in tests[:NAMED]) + more)
    return f" ({'; '.join(parts)})" if parts else ""


def pull_request(builds: list[dict[str, Any]]) -> int | None:
    """The number of the pull request the builds build, if they build one."""
    return next((_prop(b, "pull_request") for b in builds if _prop(b, "pull_request")), None)


def summary(builds: list[dict[str, Any]], sourcestamp: dict[str, Any]) -> str:
    """The message for a finished buildset (the builds of one push or forced build)."""
    revision = sourcestamp.get("revision") or next(
        (_prop(b, "got_revision") for b in builds if _prop(b, "got_revision")), None
    )
    lines = ["**Build Complete**"]
    number = pull_request(builds)
    if number is not None:
        title, address = (
            _prop(builds[0], "pull_request_title"),
            _prop(builds[0], "pull_request_url"),
        )
        lines.append(f"Pull request [#{number} {text(title)}]({url(address)})")
    lines.append(
        f"Branch {code(sourcestamp.get('branch'))} at "
        f"{commit_link(sourcestamp.get('repository'), revision)}"
    )
    ordered = sorted(builds, key=lambda b: (b["builder"]["name"], b["number"]))
    passed = [b for b in ordered if b["results"] in PASSED]
    expected = [b for b in ordered if is_expected_failure(b)]
    if passed:
        lines.append(f"{EMOJI[SUCCESS]} " + ", ".join(_link(b) for b in passed))
    for build in ordered:
        if build["results"] not in PASSED and build not in expected:
            lines.append(f"{_emoji(build)} {_link(build)}")
    if expected:
        failed = ", ".join(f"{_emoji(b)} {_link(b)}" for b in expected)
        lines.append(f"Expected failures: {failed}")
    return "\n".join(lines)


def summary_message(master: Any, context: dict[str, Any]) -> dict[str, Any]:
    sourcestamp = (context["buildset"]["sourcestamps"] or [{}])[0]
    if not sourcestamp.get("project"):  # the nightly janitor, no project's build
        return {"subject": "", "body": ""}
    return {
        "subject": topic(context["builds"], sourcestamp),
        "body": summary(context["builds"], sourcestamp),
    }


def topic(builds: list[dict[str, Any]], sourcestamp: dict[str, Any]) -> str:
    """``<project> : <branch>``, or ``<project> : PR #<n>`` for a pull request's builds."""
    number = pull_request(builds)
    where = f"PR #{number}" if number is not None else sourcestamp.get("branch")
    return f"{sourcestamp.get('project')} : {where}"


def alert(build: dict[str, Any], sourcestamp: dict[str, Any]) -> str:
    """The message for a failed or errored build of a main branch."""
    verb = "failed" if build["results"] == FAILURE else "errored"
    revision = sourcestamp.get("revision") or _prop(build, "got_revision")
    return (
        f"{_emoji(build)} [{build['builder']['name']} "
        f"#{build['number']}]({url(build['url'])}) {verb} on {code(sourcestamp.get('branch'))} "
        f"at {commit_link(sourcestamp.get('repository'), revision)}{_tests(build)}"
    )


def alert_message(project: Project) -> Callable[[Any, dict[str, Any]], dict[str, Any] | None]:
    def message(master: Any, context: dict[str, Any]) -> dict[str, Any]:
        build = context["build"]
        sourcestamp = context["buildset"]["sourcestamps"][0]
        return {
            "subject": f"{project.name} {project.merge_into} is failing",
            # An expected failure is no news: an empty body is not sent.
            "body": "" if is_expected_failure(build) else alert(build, sourcestamp),
        }

    return message
