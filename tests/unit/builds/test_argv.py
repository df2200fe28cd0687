"""No step of any recipe hands the worker a shell string: branch names cannot reach a shell."""

from __future__ import annotations

from pathlib import Path

import yaml
from buildbot.process.buildstep import BuildStep
from buildbot.process.properties import Interpolate
from buildbot.util import flatten

from config import master
from config.settings import validate

EXAMPLE = Path(__file__).resolve().parents[3] / "config.yml.example"


def test_every_step_of_the_example_recipes_runs_an_argv_list(tmp_path: Path) -> None:
    settings = validate(yaml.safe_load(EXAMPLE.read_text()))
    commands = []
    for builder in master.build(settings, tmp_path)["builders"]:
        for step_factory in builder.factory.steps:
            step = step_factory.buildStep()
            assert isinstance(step, BuildStep)
            command = getattr(step, "command", None)
            if command is not None:
                commands.append(command)
                assert isinstance(command, list), (builder.name, step.name, command)
                # Buildbot flattens nested lists (the docs step's sphinx) before running them;
                # an argument naming a property is rendered into one word.
                words = flatten(command, (list, tuple))
                assert all(isinstance(word, str | Interpolate) for word in words), (
                    builder.name,
                    command,
                )
    assert len(commands) > 10  # the recipes were walked
