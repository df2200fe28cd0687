"""Pydantic's validation errors as one line a user understands, naming the key path."""

from __future__ import annotations

from buildbot.config.errors import ConfigErrors
from pydantic_core import ErrorDetails

from config.settings.recipes import STEP_KINDS
from config.settings.values import show
from config.settings.workers import POOL_KINDS


class SettingsError(ConfigErrors):
    """A settings document that cannot be used; ``str()`` is the one-line message.

    It is one of Buildbot's own ConfigErrors, so ``buildbot checkconfig`` and a starting
    master print the line and exit non-zero without a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__([message])


_MESSAGES = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "literal_error": "must be one of {expected}, got {got}",
    "string_type": "must be a string, got {got}",
    "bool_type": "must be true or false, got {got}",
    "list_type": "must be a list, got {got}",
    "dict_type": "must be a mapping, got {got}",
    "model_type": "must be a mapping, got {got}",
    "model_attributes_type": "must be a mapping, got {got}",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
    "string_pattern_mismatch": "must match {pattern}, got {got}",
    "string_too_long": "is too long (at most {max_length} characters)",
    "union_tag_invalid": "kind must be one of {expected_tags}, got {shown_tag}",
    "union_tag_not_found": "needs a 'kind' key",
}


def key_path(loc: tuple[int | str, ...]) -> str:
    """``('projects', 0, 'builders', 1, 'run', 'command')`` -> ``projects[0].builders[1].command``.

    Pydantic puts a discriminated union's tag (the step kind) into the location; a user
    never wrote it, so it is left out.
    """
    parts: list[str] = []
    previous: int | str | None = None
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
        elif item == "[key]":  # pydantic's mark of a mapping's key (the key is named)
            pass
        elif not (isinstance(previous, int) and item in (*STEP_KINDS, *POOL_KINDS)):
            # A key the user mistyped may hold anything, even a line break: quote it then.
            plain = item.isascii() and item.replace("-", "_").isidentifier()
            parts.append(item if plain else show(item))
        previous = item
    return ".".join(parts)


def describe(error: ErrorDetails) -> str:
    """One error as ``path: message``."""
    path = key_path(error["loc"])
    template = _MESSAGES.get(error["type"])
    if template is None:
        message = error["msg"]
        message = message[0].lower() + message[1:] if message else message
    else:
        context = dict(error.get("ctx") or {})
        if "tag" in context:
            context["shown_tag"] = show(context["tag"])
        message = template.format(got=show(error["input"]), **context)
    return f"{path}: {message}" if path else message
