"""Storing a JUnit XML report of many cases, and whether the master keeps answering.

Two builders run the same command, which writes a report of ``cases`` test cases (one in a
hundred failing): one stores the report's cases as Buildbot test results, the other does
not read it. The figures: how long the storing test step takes (the command, then
fetching, parsing and storing the report) against the other's, and the longest the web
UI's index page went unanswered meanwhile (goal: at most 0.1 s). Then the same master,
idle, hands a pipeline over (bench/pipeline.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench import pipeline
from bench.cluster import running
from bench.events import BuildEvents
from bench.index_page import GOAL, watching
from bench.report import Row
from tests.conftest import local_settings
from tests.harness import GitRepo, wait_for

GENERATE = """import sys
cases, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as out:
    out.write('<testsuites><testsuite name="bench">')
    for n in range(cases):
        out.write(f'<testcase classname="pkg.test_m{n // 1000}" name="test_{n}" '
                  f'file="pkg/test_m{n // 1000}.py" line="{n % 1000}" time="0.001">')
        if n % 100 == 7:
            out.write(f'<failure message="case {n} failed">pkg/test_m{n // 1000}.py:'
                      f'{n % 1000}: AssertionError</failure>')
        out.write("</testcase>")
    out.write("</testsuite></testsuites>")
"""


def _builder(name: str, cases: int, stores: bool) -> dict[str, object]:
    command = f'mkdir -p reports && "$0" generate.py {cases} reports/junit.xml'
    step: dict[str, object] = {"kind": "test", "command": ["sh", "-c", command, sys.executable]}
    if stores:
        step["junit"] = ["reports/*.xml"]
    return {"name": name, "steps": [step]}


def _test_step_seconds(events: BuildEvents, buildid: int) -> float:
    found = {e.kind: e.at for e in events.events if e.buildid == buildid}
    return found["test finished"] - found["test started"]


def measure(root: Path, cases: int, pipelines: int) -> list[Row]:
    """The storing step's seconds and the index page's longest wait, on ``cases``; then
    the pipeline's hand-over, over ``pipelines`` runs."""
    repo = GitRepo(root / "repo")
    repo.commit({"README": "bench\n"}, "initial")
    repo.push()
    builders = [
        _builder("stores", cases, True),
        _builder("reads-nothing", cases, False),
        *pipeline.BUILDERS,
    ]
    document = local_settings(repo.url, builders)
    with running(root / "cluster", document) as bench:
        master = bench.master
        with watching(master.url) as answers:
            repo.branch("feature")
            repo.commit({"generate.py": GENERATE}, "a report")
            repo.push()
            builds = master.wait_for_builds(2, timeout=600)
        wait_for("the step events", lambda: bench.events.count("finished", 0) >= 2)
        names = {b["builderid"]: b["name"] for b in master.get("builders")["builders"]}
        took = {
            names[b["builderid"]]: _test_step_seconds(bench.events, b["buildid"]) for b in builds
        }
        master.wait_idle()
        handover = pipeline.measure_on(bench, pipelines)
    label = f"storing a JUnit report of {cases} cases"
    return [
        Row(
            f"{label}: test step",
            took["stores"],
            "s",
            baseline=took["reads-nothing"],
            baseline_name="the step not reading it",
        ),
        Row(f"{label}: index page's longest wait", max(answers), "s", target=GOAL),
        *handover,
    ]
