"""Recipes: every step kind validates with one-line errors and becomes the right Buildbot step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from buildbot.locks import WorkerLock

from config import master
from config.builds import builders, recipes
from config.builds.checkout import Checkout
from config.builds.counts import Pytest
from config.builds.leftovers import EndLeftovers
from config.builds.merge import MergeForward
from config.builds.result_steps import ReportedTests, StoredLint
from config.builds.uploads import BoundedUpload, Publish
from config.settings import validate
from tests.unit.settings.test_settings import GOOD, changed, message

EXAMPLE = Path(__file__).resolve().parents[3] / "config.yml.example"
STEP = "projects.0.builders.0.steps.0"


def with_step(step: dict[str, Any]) -> dict[str, Any]:
    return changed(STEP, step)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            with_step({"kind": "docs", "sourcedir": "docs", "colour": "blue"}),
            "config: projects[0].builders[0].steps[0].colour: unknown key",
        ),
        (
            with_step({"kind": "upload"}),
            "config: projects[0].builders[0].steps[0].source: required key is missing",
        ),
        (
            with_step({"kind": "upload", "source": "dist", "timeout": 5}),
            "config: projects[0].builders[0].steps[0].timeout: unknown key",
        ),
        (
            with_step({"kind": "test", "runner": "nose", "command": ["nosetests"]}),
            "config: projects[0].builders[0].steps[0].runner: must be one of 'pytest' or 'trial', got \"nose\"",
        ),
        (
            with_step({"kind": "lint", "command": ["flake8"], "warning_pattern": 3}),
            "config: projects[0].builders[0].steps[0].warning_pattern: must be a string, got 3",
        ),
        (
            with_step({"kind": "run", "command": ["make"], "timeout": -1}),
            "config: projects[0].builders[0].steps[0].timeout: must be a positive number, got -1",
        ),
        (
            with_step({"kind": "run", "command": ["make"], "env": {"A": 1}}),
            "config: projects[0].builders[0].steps[0].env.A: must be a string, got 1",
        ),
        (
            with_step({"command": ["make"]}),
            "config: projects[0].builders[0].steps[0]: needs a 'kind' key",
        ),
        (
            changed("projects.0.builders.0.lock", "heavy lock"),
            "config: projects[0].builders[0].lock: must be letters, digits, '-', '_' or '.', got \"heavy lock\"",
        ),
        (
            changed("changes", {"kind": "github"}),
            "config: github: required when changes.kind is 'github' (for its webhook_secret)",
        ),
        (
            changed("changes.branches", "some"),
            "config: changes.branches: must be one of 'all' or 'main_and_release', got \"some\"",
        ),
    ],
)
def test_recipe_mistakes_get_one_line_naming_the_key(document: Any, expected: str) -> None:
    assert message(document) == expected


def test_shipped_example_is_valid_and_builds_the_flocker_recipe(tmp_path: Path) -> None:
    settings = validate(yaml.safe_load(EXAMPLE.read_text()))
    [flocker] = settings.projects
    assert [b.name for b in flocker.builders] == [
        "flocker-tests",
        "flocker-coverage",
        "flocker-lint",
        "flocker-docs",
        "flocker-packages-ubuntu-24.04",
        "flocker-packages-fedora-41",
        "flocker-acceptance-ubuntu-24.04-aws",
        "flocker-acceptance-fedora-41-aws",
        "flocker-functional-tests",
    ]
    config = master.build(settings, tmp_path)
    assert set(config["www"]["change_hook_dialects"]) == {"github"}
    assert config["change_source"] == []


def step_classes(document: dict[str, Any], builder: int = 0) -> list[type]:
    settings = validate(document)
    project = settings.projects[0]
    factory = builders.factory(project, project.builders[builder], settings, lambda _: {})
    return [s.step_class for s in factory.steps]


def test_each_step_kind_maps_onto_its_buildbot_step() -> None:
    recipe = [
        {"kind": "run", "command": ["make"]},
        {"kind": "test", "command": ["pytest"]},
        {"kind": "test", "command": ["pytest"], "junit": ["report.xml"]},
        {"kind": "test", "runner": "trial", "command": ["trial", "pkg"]},
        {"kind": "lint", "command": ["flake8"]},
        {"kind": "docs"},
        {"kind": "upload", "source": "dist"},
    ]
    assert step_classes(changed("projects.0.builders.0.steps", recipe)) == [
        Checkout,
        MergeForward,
        recipes.Run,
        Pytest,
        ReportedTests,
        recipes.Trial,
        StoredLint,
        recipes.Sphinx,
        BoundedUpload,
        Publish,
        EndLeftovers,
    ]


def test_workers_running_several_builds_at_once_keep_their_processes() -> None:
    document = changed("workers.max_builds", 2)
    assert EndLeftovers not in step_classes(document)


def test_builders_naming_one_lock_share_an_exclusive_worker_lock(tmp_path: Path) -> None:
    document = changed("projects.0.builders.0.lock", "functional")
    second = {**document["projects"][0]["builders"][0], "name": "more"}
    document["projects"][0]["builders"].append(second)
    first, other = master.build(validate(document), tmp_path)["builders"]
    assert first.locks == other.locks
    [access] = first.locks
    assert access.mode == "exclusive"
    assert access.lockid == WorkerLock("functional", maxCount=1)
    assert master.build(validate(GOOD), tmp_path)["builders"][0].locks == []
