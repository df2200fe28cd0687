"""Buildbot's secret provider over the validated settings.

Every settings field typed ``SecretStr`` is a secret, named by its dotted key path
(``github.token``, ``auth.users.admin``). The rest of ``config/`` refers to them only as
``util.Secret(name)`` or ``%(secret:name)s``, so Buildbot renders them late and redacts
their values from build logs.
"""

from __future__ import annotations

from typing import Any

from buildbot.secrets.providers.base import SecretProviderBase
from pydantic import BaseModel, SecretStr

from config.settings import Settings


def collect(node: Any, path: str = "") -> dict[str, str]:
    """All ``SecretStr`` values below ``node``, keyed by their dotted path."""
    if isinstance(node, SecretStr):
        return {path: node.get_secret_value()}
    if isinstance(node, BaseModel):
        children: dict[Any, Any] = {f: getattr(node, f) for f in type(node).model_fields}
    elif isinstance(node, dict):
        children = node
    elif isinstance(node, list):
        children = dict(enumerate(node))
    else:
        return {}
    found: dict[str, str] = {}
    for key, child in children.items():
        found.update(collect(child, f"{path}.{key}" if path else str(key)))
    return found


class SettingsSecrets(SecretProviderBase):
    """Answers ``util.Secret('github.token')`` and friends from the settings."""

    name = "SettingsSecrets"

    def reconfigService(self, secrets: dict[str, str]) -> None:
        self._secrets = dict(secrets)

    def get(self, entry: str) -> str | None:
        return self._secrets.get(entry)


def provider(settings: Settings) -> SettingsSecrets:
    """The secret provider for these settings."""
    return SettingsSecrets(secrets=collect(settings))
