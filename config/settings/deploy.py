"""The ``deploy`` section: how ``fabfile.py`` runs the master's container on its host."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.settings.values import Command, Name, Seconds, Section, Text


class Deploy(Section):
    """Where and how ``fabfile.py`` runs the master's container on its host."""

    host: Text | None = None
    image: Text = "buildmaster"
    tag: Text = "latest"
    docker: Command = Field(default_factory=lambda: ["docker"])
    run_options: list[Text] = Field(default_factory=list)
    container: Name = "buildmaster"
    volume: Name = "buildmaster-data"
    network: Name | None = None
    settings_dir: Text = "/etc/buildmaster"
    settings_via: Literal["file", "env"] = "file"
    health_timeout: Seconds = 300.0
