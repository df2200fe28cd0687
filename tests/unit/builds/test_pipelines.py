"""Pipelines as Buildbot objects: triggers and their schedulers, counted locks, properties
from commands used in later commands."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from buildbot.config.master import MasterConfig
from buildbot.locks import MasterLock, WorkerLock
from buildbot.process.properties import Interpolate, Properties
from buildbot.schedulers.triggerable import Triggerable

from config import master
from config.builds import builders, recipes
from config.builds.branches import on_branches, said
from config.builds.pipelines import TriggerNext
from config.github import pipeline_statuses
from config.github.pipeline_statuses import TriggeredStatusPush
from config.settings import validate
from tests.unit.settings.test_settings import GOOD
from tests.unit.test_master import CLUSTER

RUN = {"kind": "run", "command": ["true"]}


def document(**sections: Any) -> dict[str, Any]:
    """A pipeline: package sets the version and triggers accept, which takes the aws lock."""
    found = copy.deepcopy(GOOD)
    found["projects"][0]["builders"] = [
        {
            "name": "package",
            "then": ["accept"],
            "steps": [{"kind": "property", "property": "version", "command": ["cat", "VERSION"]}],
        },
        {
            "name": "accept",
            "triggered": True,
            "locks": ["aws"],
            "steps": [{**RUN, "locks": [{"name": "disk", "access": "exclusive"}]}],
        },
    ]
    found["locks"] = {"aws": 2, "disk": {"count": 1, "per": "worker"}}
    found.update(sections)
    return found


def test_triggered_builders_have_only_their_triggerable_scheduler(tmp_path: Path) -> None:
    config = master.build(validate(document()), tmp_path)
    by_builder: dict[str, list[str]] = {}
    for scheduler in config["schedulers"]:
        for name in scheduler.builderNames:
            by_builder.setdefault(name, []).append(type(scheduler).__name__)
    assert by_builder["accept"] == ["Triggerable"]
    assert "Triggerable" not in by_builder["package"]
    [triggerable] = [s for s in config["schedulers"] if isinstance(s, Triggerable)]
    assert triggerable.name == "accept-triggered"


def test_a_worker_master_has_the_triggerables_its_builds_trigger(tmp_path: Path) -> None:
    cluster = {**CLUSTER, "roles": ["workers"]}
    config = master.build(validate(document(buildmaster=cluster)), tmp_path)
    assert [s.name for s in config["schedulers"]] == ["accept-triggered"]


@pytest.mark.parametrize("wait", [False, True])
def test_the_trigger_comes_last_and_waits_as_set(wait: bool) -> None:
    settings = validate(document())
    project = settings.projects[0]
    package = project.builders[0].model_copy(update={"wait": wait})
    factory = builders.factory(project, package, settings, lambda _: {})
    last = factory.steps[-1]
    assert last.step_class is TriggerNext
    assert last.kwargs["conditions"] == {"accept-triggered": None}
    assert last.kwargs["waitForFinish"] is wait
    # The accept builder triggers nothing.
    accept = builders.factory(project, project.builders[1], settings, lambda _: {})
    assert all(step.step_class is not TriggerNext for step in accept.steps)


def test_builders_and_steps_take_their_counted_locks(tmp_path: Path) -> None:
    config = master.build(validate(document()), tmp_path)
    accept = next(b for b in config["builders"] if b.name == "accept")
    [access] = accept.locks
    assert access.lockid == MasterLock("aws", maxCount=2)
    assert access.mode == "counting"
    run = next(s for s in accept.factory.steps if s.step_class is recipes.Run)
    [step_access] = run.kwargs["locks"]
    assert step_access.lockid == WorkerLock("disk", maxCount=1)
    assert step_access.mode == "exclusive"


def test_property_steps_set_a_property_and_later_commands_use_it() -> None:
    command = recipes.with_properties(["echo", "v%(prop:version)s", "100%", "+%Y at %(prop:x)s"])
    assert command[0] == "echo" and command[2] == "100%"
    assert isinstance(command[1], Interpolate) and isinstance(command[3], Interpolate)
    properties = Properties(version="1.2", x="noon")
    assert properties.render(command[1]).result == "v1.2"
    assert properties.render(command[3]).result == "+%Y at noon"
    settings = validate(document())
    project = settings.projects[0]
    factory = builders.factory(project, project.builders[0], settings, lambda _: {})
    [setter] = [s for s in factory.steps if s.step_class is recipes.SetProperty]
    assert setter.kwargs["property_name"] == "version"
    assert setter.kwargs["name"] == "version"


def test_property_output_over_the_limit_is_refused() -> None:
    template = recipes.SetProperty(
        property_name="version", command=["x"], log_limit=100, time_limit=60
    )
    step = template.get_step_factory().buildStep()  # as a build makes it
    assert step._extract(0, " 1.2.3\n", "") == {"version": "1.2.3"}
    assert step._extract(0, "x" * (recipes.PROPERTY_LIMIT + 1), "") == {}
    assert step.too_long


@pytest.mark.parametrize(
    ("rules", "branch", "extra", "runs"),
    [
        (None, "feature", {}, True),
        (["main"], "master", {}, True),
        (["main"], "feature", {}, False),
        (["release"], "release/1.2", {}, True),
        (["release"], "1.2.3", {"is_tag": True}, True),
        (["release"], "nightly", {"is_tag": True}, False),
        (["pull_requests"], "feature", {"pull_request": True}, True),
        (["pull_requests"], "feature", {}, False),
        (["feature/*"], "feature/x", {}, True),
        (["feature/*"], "fix/x", {}, False),
    ],
)
def test_branch_conditions(
    rules: list[str] | None, branch: str, extra: dict[str, bool], runs: bool
) -> None:
    project = validate(GOOD).projects[0]
    assert on_branches(rules, branch, project, **extra) is runs


def test_builders_with_branch_conditions_get_a_push_scheduler_each(tmp_path: Path) -> None:
    found = document()
    found["projects"][0]["builders"] += [
        {"name": "docs", "branches": ["main", "release"], "steps": [RUN]},
        {"name": "publish", "branches": ["main", "release"], "steps": [RUN]},
    ]
    config = master.build(validate(found), tmp_path)
    pushes = {s.name: s.builderNames for s in config["schedulers"] if "-push" in s.name}
    assert pushes == {"flocker-push": ["package"], "flocker-push-docs": ["docs", "publish"]}
    assert said(["main", "pull_requests"]) == "only on main, pull requests"


def test_buildbot_accepts_the_pipeline_config_with_one_object_per_lock(tmp_path: Path) -> None:
    found = document()
    found["projects"][0]["builders"][0]["locks"] = ["aws"]  # a lock taken in two places
    MasterConfig.loadFromDict(master.build(validate(found), tmp_path), "master.cfg")


def test_triggered_builders_get_a_status_reporter_with_github(tmp_path: Path) -> None:
    github = {"token": "t", "webhook_secret": "s"}
    config = master.build(validate(document(github=github)), tmp_path)
    assert len([s for s in config["services"] if isinstance(s, TriggeredStatusPush)]) == 1
    without = document(github=github)
    without["projects"][0]["builders"] = [{"name": "alone", "steps": [RUN]}]
    without.pop("locks")
    config = master.build(validate(without), tmp_path)
    assert not [s for s in config["services"] if isinstance(s, TriggeredStatusPush)]
    generators = pipeline_statuses.generators(validate(document()))
    assert [(g.source, g.target.name) for g in generators] == [("package", "accept")]
