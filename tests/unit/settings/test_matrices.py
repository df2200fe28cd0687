"""Matrices expand into one builder per combination, named predictably, with their axes as
properties, their pools from an axis, and triggers between agreeing combinations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import master
from config.settings import validate
from tests.unit.settings.test_pipelines import pipeline
from tests.unit.settings.test_settings import message

DISTS = ["ubuntu-24.04", "fedora-41"]
POOLS = [{"name": d, "kind": "local", "count": 1, "password": "pw"} for d in DISTS]


def test_a_matrix_expands_into_one_builder_per_combination(tmp_path: Path) -> None:
    loaded = validate(
        pipeline(
            {
                "name": "accept",
                "matrix": {"dist": DISTS, "provider": ["aws", "gce"]},
                "pools_from": "dist",
                "properties": {"suite": "acceptance"},
            },
            workers=POOLS,
        )
    )
    builders = loaded.projects[0].builders
    assert [b.name for b in builders] == [
        "accept-ubuntu-24.04-aws",
        "accept-ubuntu-24.04-gce",
        "accept-fedora-41-aws",
        "accept-fedora-41-gce",
    ]
    assert builders[2].properties == {"suite": "acceptance", "dist": "fedora-41", "provider": "aws"}
    assert [b.pools for b in builders] == [["ubuntu-24.04"]] * 2 + [["fedora-41"]] * 2
    config = master.build(loaded, tmp_path)
    made = {b.name: b for b in config["builders"]}
    assert made["accept-fedora-41-gce"].properties["provider"] == "gce"
    assert made["accept-fedora-41-gce"].workernames == ["fedora-41-1"]


def test_matrix_builders_trigger_the_combinations_that_agree() -> None:
    loaded = validate(
        pipeline(
            {"name": "package", "matrix": {"dist": DISTS}, "then": ["accept", "notify"]},
            {"name": "accept", "triggered": True, "matrix": {"dist": DISTS, "provider": ["aws"]}},
            {"name": "notify", "triggered": True},
        )
    )
    then = {b.name: b.then for b in loaded.projects[0].builders}
    assert then["package-fedora-41"] == ["accept-fedora-41-aws", "notify"]
    assert then["package-ubuntu-24.04"] == ["accept-ubuntu-24.04-aws", "notify"]


def test_a_matrix_in_failing_builders_marks_each_combination() -> None:
    document = pipeline({"name": "accept", "matrix": {"dist": DISTS}})
    document["projects"][0]["failing_builders"] = ["accept"]
    assert validate(document).projects[0].failing_builders == [
        "accept-ubuntu-24.04",
        "accept-fedora-41",
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            pipeline({"name": "accept", "matrix": {"dist": DISTS}, "pools_from": "dist"}),
            'config: projects[0].builders (accept).matrix.dist: "ubuntu-24.04" names no pool '
            "in workers (it is the axis of pools_from)",
        ),
        (
            pipeline({"name": "accept", "matrix": {"dist": DISTS}, "pools_from": "os"}),
            'config: projects[0]: builders[0].pools_from: "os" is not an axis of its matrix',
        ),
        (
            pipeline({"name": "accept", "matrix": {"dist": []}}),
            "config: projects[0].builders[0].matrix.dist: must not be empty",
        ),
        (
            pipeline({"name": "accept", "matrix": {"dist": ["a b"]}}),
            "config: projects[0].builders[0].matrix.dist[0]: must be letters, digits, '-', "
            "'_' or '.', got \"a b\"",
        ),
        (
            pipeline({"name": "a-x"}, {"name": "a", "matrix": {"d": ["x"]}}),
            'config: projects[0]: builder name "a-x" is used twice',
        ),
        (
            pipeline(
                {"name": "package", "matrix": {"dist": ["x"]}, "then": ["accept"]},
                {"name": "accept", "triggered": True, "matrix": {"dist": ["x", "y"]}},
            ),
            "config: projects[0]: builders[1].triggered: no builder's then names "
            '"accept-y", so it would never run',
        ),
        (
            pipeline({"name": "a", "properties": {"branch": "x"}}),
            'config: projects[0].builders[0].properties.branch: "branch" is a property the '
            "master sets itself",
        ),
    ],
)
def test_each_matrix_mistake_is_one_line_naming_the_key(
    document: dict[str, Any], expected: str
) -> None:
    assert message(document) == expected
