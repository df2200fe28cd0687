"""Reading the settings: from the environment, as JSON or YAML, validated as a whole."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.settings.document import Settings
from config.settings.errors import SettingsError, describe
from config.settings.values import show

ENV_JSON = "BUILDBOT_CONFIG"
ENV_FILE = "BUILDBOT_CONFIG_FILE"


def validate(document: Any, source: str = ENV_JSON) -> Settings:
    """Validate a parsed settings document; raise :class:`SettingsError` on the first problem."""
    if not isinstance(document, Mapping):
        raise SettingsError(
            f"config: {source}: must be a mapping of settings, got {show(document)}"
        )
    try:
        return Settings.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        first = describe(errors[0])
        if isinstance(document.get("workers"), Mapping):  # the one-pool form, as written
            first = first.replace("workers[0]", "workers", 1)
        raise SettingsError(f"config: {first}{more}") from None


def parse(text: str, source: str, *, yaml_allowed: bool) -> Any:
    """Parse JSON (or YAML, a superset, for files); errors name the source and position."""
    try:
        if yaml_allowed:
            return yaml.safe_load(text)
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"config: {source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise SettingsError(f"config: {source}: invalid YAML{where}: {problem}") from None


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings named by the environment."""
    env = os.environ if environ is None else environ
    if env.get(ENV_JSON):
        return validate(parse(env[ENV_JSON], ENV_JSON, yaml_allowed=False), ENV_JSON)
    if env.get(ENV_FILE):
        path = Path(env[ENV_FILE])
        source = f"{ENV_FILE} {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise SettingsError(f"config: {source}: cannot read: {reason}") from None
        return validate(parse(text, source, yaml_allowed=True), source)
    raise SettingsError(f"config: set {ENV_JSON} (JSON) or {ENV_FILE} (a JSON or YAML file)")
