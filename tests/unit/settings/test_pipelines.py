"""The pipeline graph (matrices expanded) and its locks are checked when the settings load: each mistake is one
line naming the key, and no generated graph gets a traceback."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.settings import SettingsError, validate
from config.settings.pipelines import find_cycle
from tests.unit.settings.test_settings import GOOD, message

STEPS = [{"kind": "run", "command": ["true"]}]


def pipeline(*builders: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """GOOD with the project's builders replaced (each gets a step unless it has some)."""
    document = copy.deepcopy(GOOD)
    document["projects"][0]["builders"] = [{"steps": STEPS, **b} for b in builders]
    document.update(sections)
    return document


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            pipeline({"name": "a", "then": ["nowhere"]}),
            'config: projects[0]: builders[0].then: no builder named "nowhere" in this project',
        ),
        (
            pipeline({"name": "a", "then": ["b"]}, {"name": "b"}),
            'config: projects[0]: builders[0].then: "b" runs on every push: give it '
            "triggered: true to run it only when triggered",
        ),
        (
            pipeline({"name": "a"}, {"name": "b", "triggered": True}),
            'config: projects[0]: builders[1].triggered: no builder\'s then names "b", so '
            "it would never run",
        ),
        (
            pipeline(
                {"name": "a", "then": ["b"]},
                {"name": "b", "triggered": True, "then": ["c"]},
                {"name": "c", "triggered": True, "then": ["b"]},
            ),
            "config: projects[0]: builders[1].then: builders trigger each other in a cycle: "
            "b -> c -> b",
        ),
        (
            pipeline({"name": "a", "locks": ["aws"]}),
            'config: projects[0].builders[0].locks: no lock named "aws" in locks',
        ),
        (
            pipeline(
                {"name": "a", "steps": [{"kind": "run", "command": ["x"], "locks": ["aws"]}]},
                locks={"db": 1},
            ),
            'config: projects[0].builders[0].steps[0].locks: no lock named "aws" in locks',
        ),
        (
            pipeline({"name": "a"}, locks={"aws": 3}),
            'config: locks: "aws" is taken by no builder or step',
        ),
        (
            pipeline({"name": "a", "locks": ["aws"]}, locks={"aws": 0}),
            "config: locks.aws.count: must be a whole number from 1 to 1000, got 0",
        ),
        (
            pipeline({"name": "a", "locks": ["aws"]}, locks={"aws": {"count": 2, "per": "pod"}}),
            "config: locks.aws.per: must be one of 'master' or 'worker', got \"pod\"",
        ),
        (
            pipeline({"name": "a", "locks": [{"name": "aws", "access": "all"}]}, locks={"aws": 2}),
            "config: projects[0].builders[0].locks[0].access: must be one of 'counting' or "
            "'exclusive', got \"all\"",
        ),
        (
            pipeline(
                {
                    "name": "a",
                    "steps": [{"kind": "property", "property": "got_revision", "command": ["x"]}],
                }
            ),
            'config: projects[0].builders[0].steps[0].property: "got_revision" is a property '
            "the master sets itself",
        ),
    ],
)
def test_each_pipeline_mistake_is_one_line_naming_the_key(
    document: dict[str, Any], expected: str
) -> None:
    assert message(document) == expected


def test_a_pipeline_with_locks_loads() -> None:
    loaded = validate(
        pipeline(
            {"name": "package", "then": ["accept"], "wait": True, "locks": ["aws"]},
            {
                "name": "accept",
                "triggered": True,
                "steps": [
                    {
                        "kind": "run",
                        "command": ["x"],
                        "locks": [{"name": "disk", "access": "exclusive"}],
                    }
                ],
            },
            locks={"aws": 3, "disk": {"count": 2, "per": "worker"}},
        )
    )
    [project] = loaded.projects
    assert [b.name for b in project.on_changes()] == ["package"]
    assert loaded.locks["aws"].count == 3 and loaded.locks["aws"].per == "master"
    assert loaded.locks["disk"].per == "worker"
    assert project.builders[1].steps[0].locks[0].access == "exclusive"


def test_find_cycle_finds_a_self_trigger_and_none_in_a_diamond() -> None:
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert find_cycle({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}) == []


NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
GRAPHS = st.lists(
    st.fixed_dictionaries(
        {"name": NAMES, "then": st.lists(st.one_of(NAMES, st.just("x y")), max_size=3)},
        optional={
            "triggered": st.booleans(),
            "wait": st.booleans(),
            "locks": st.lists(st.one_of(NAMES, st.integers(), st.none()), max_size=2),
            "matrix": st.dictionaries(
                st.sampled_from(["d", "p"]), st.lists(st.sampled_from(["x", "y"]), max_size=2)
            ),
            "pools_from": st.sampled_from(["d", "p", "q"]),
        },
    ),
    min_size=1,
    max_size=5,
)
LOCKS = st.dictionaries(NAMES, st.one_of(st.integers(-1, 4), st.text(max_size=3)), max_size=3)


@settings(max_examples=300, deadline=None)
@given(builders=GRAPHS, locks=LOCKS)
def test_generated_graphs_load_or_fail_in_one_line(
    builders: list[dict[str, Any]], locks: dict[str, Any]
) -> None:
    try:
        loaded = validate(pipeline(*builders, locks=locks))
    except SettingsError as error:
        text = str(error)
        assert text.startswith("config: ") and "\n" not in text and "Traceback" not in text
        return
    # What loads is a graph the master can run: no cycle, every target triggered.
    [project] = loaded.projects
    then = {b.name: b.then for b in project.builders}
    assert find_cycle(then) == []
    triggered = {b.name for b in project.builders if b.triggered}
    assert {t for targets in then.values() for t in targets} == triggered


def test_a_builder_forks_run_triggers_only_builders_forks_may_run() -> None:
    """A fork's build triggers its next builders as untrusted: a target with no untrusted
    pool would never start, and its trigger would wait for it for ever."""
    document = pipeline(
        {"name": "package", "then": ["acceptance"]},
        {"name": "acceptance", "triggered": True, "pools": ["local"]},
        changes={"kind": "github"},
        github={"token": "t", "webhook_secret": "s"},
        workers=[
            {"kind": "local", "name": "local", "count": 1, "password": "pw"},
            {"kind": "docker", "name": "box", "image": "worker:1", "untrusted": True},
        ],
    )
    assert message(document) == (
        'config: projects[0].builders: "package" builds pull requests from forks and '
        'triggers "acceptance", which has no pool for untrusted builds: give "acceptance" '
        "an untrusted pool too"
    )
    document["projects"][0]["builders"][1]["pools"] = ["local", "box"]
    validate(document)
