"""A repository's owner and name on GitHub: :mod:`config.settings.repositories`, where
the settings' check that no two projects share a repository needs them too."""

from __future__ import annotations

from config.settings.repositories import owner_and_name, repository_key

__all__ = ["owner_and_name", "repository_key"]
