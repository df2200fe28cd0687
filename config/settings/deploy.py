"""The ``deploy`` section: how ``fabfile.py`` runs the master's container on its host."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from config.settings.values import Command, Name, Port, PositiveNumber, Seconds, Section, Text


class Https(Section):
    """The TLS-terminating proxy (caddy) that ``fab`` runs beside the master."""

    certificates: Literal["acme", "internal", "files"] = "acme"
    email: Text | None = None
    acme_directory: Text | None = None
    acme_ca_root: Text | None = None
    certificate_file: Text | None = None
    key_file: Text | None = None
    http_port: Port = 80
    https_port: Port = 443
    hsts_max_age: PositiveNumber = 31536000.0

    @model_validator(mode="after")
    def _certificates_named(self) -> Https:
        named = (self.certificate_file, self.key_file)
        if self.certificates == "files" and None in named:
            raise PydanticCustomError(
                "certificates", "certificate_file and key_file: required with certificates: files"
            )
        if self.certificates != "files" and named != (None, None):
            raise PydanticCustomError(
                "certificates", "certificate_file and key_file: only with certificates: files"
            )
        acme = (self.email, self.acme_directory, self.acme_ca_root)
        if self.certificates != "acme" and acme != (None, None, None):
            raise PydanticCustomError(
                "certificates", "email, acme_directory, acme_ca_root: only with certificates: acme"
            )
        return self


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
    drain_timeout: Seconds = 10800.0
    https: Https | None = None
