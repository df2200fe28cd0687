"""A repository's owner and name on GitHub, whichever way its address is written."""

from __future__ import annotations

from urllib.parse import urlsplit


def owner_and_name(address: str) -> tuple[str, str] | None:
    """The last two parts of a repository's path, as written; None when it has fewer.

    ``https://github.com/ClusterHQ/flocker.git``, ``git@github.com:ClusterHQ/flocker``
    and GitHub's ``full_name`` ``ClusterHQ/flocker`` all give ``("ClusterHQ", "flocker")``;
    so does a mirror or a local path ending in those two parts.
    """
    path = urlsplit(address).path if "://" in address else address.rpartition(":")[2]
    parts = [part for part in path.split("/") if part]
    if len(parts) < 2:
        return None
    name = parts[-1].removesuffix(".git")
    return (parts[-2], name) if name else None


def repository_key(address: str) -> str:
    """``owner/name`` in lower case (GitHub's names ignore case), to compare repositories;
    '' for an address without both."""
    found = owner_and_name(address)
    return "/".join(found).lower() if found else ""
