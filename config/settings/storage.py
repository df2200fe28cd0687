"""The ``s3`` section (how the master reaches S3) and where an ``upload`` or a ``publish``
step puts files in S3: a bucket and a key prefix.

A prefix may name build properties (``docs/%(prop:version)s``); what it renders to is
checked again when the build runs (:func:`check_rendered`), because a property such as
the version comes from the build's own output.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from config.settings.values import Section, Text, show

BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
"""S3's rule for bucket names (3 to 63 lowercase letters, digits, '.' and '-')."""

PROPERTY = re.compile(r"%\(prop:[A-Za-z0-9_.-]+\)s")
"""How a prefix names a property (Buildbot's ``Interpolate``): its only ``%``."""

PREFIX_LIMIT = 512
"""Characters of a prefix: S3 keys are at most 1024 bytes, the rest is for file names."""


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` is not a key prefix that stays where it is put, or None.

    A prefix is ``/``-separated parts, none empty, ``.`` or ``..``; it does not start with
    ``/`` and holds no backslash or control character. A trailing ``/`` is allowed.
    """
    if not prefix or prefix == "/":
        return "must not be empty"
    if prefix.startswith("/"):
        return "must not start with /"
    if len(prefix) > PREFIX_LIMIT:
        return f"must be at most {PREFIX_LIMIT} characters"
    if "\\" in prefix or not prefix.isprintable():
        return "must hold no backslash or control character"
    if any(part in ("", ".", "..") for part in prefix.removesuffix("/").split("/")):
        return "must not have an empty, '.' or '..' part"
    return None


def check_prefix(prefix: str) -> str:
    """``prefix`` without its trailing ``/``; raises ValueError saying why it is refused."""
    problem = prefix_problem(prefix)
    if problem is not None:
        raise ValueError(f"{show(prefix)} {problem}")
    return prefix.removesuffix("/")


def check_rendered(rendered: str, configured: str) -> str:
    """``rendered`` (``configured``, a settings' prefix, with the build's properties) as
    :func:`check_prefix` takes it, and of at least as many parts as ``configured``: a
    property printed empty would otherwise move the prefix up, to the parent of the other
    versions a publish deletes. (A property may add parts: a branch holds ``/``.)"""
    prefix = check_prefix(rendered)
    parts = configured.count("/") + 1
    if rendered.endswith("/") or prefix.count("/") + 1 < parts:
        raise ValueError(
            f"{show(rendered)} must have at least {parts} parts as {show(configured)} does"
            " (a property printed empty)"
        )
    return prefix


def _prefix(value: str) -> str:
    problem = prefix_problem(value)
    if problem is None and "%" in PROPERTY.sub("", value):
        problem = "may hold % only to name a property, as %(prop:<name>)s"
    if problem is not None:
        raise PydanticCustomError("prefix", problem + ", got {got}", {"got": show(value)})
    return value.removesuffix("/")


def _bucket(value: str) -> str:
    if not BUCKET.fullmatch(value) or ".." in value or _is_address(value):
        raise PydanticCustomError(
            "bucket",
            "must be an S3 bucket name (3 to 63 lowercase letters, digits, '.' or '-'), got {got}",
            {"got": show(value)},
        )
    return value


def _is_address(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


Prefix = Annotated[str, AfterValidator(_prefix)]
Bucket = Annotated[str, AfterValidator(_bucket)]


class S3(Section):
    """How the master reaches S3 for ``upload`` and ``publish`` steps. What is left out
    comes from the ``aws`` section (region, keys), then from boto3's default chain (the
    master's instance role, ``AWS_*`` variables). Workers never get these keys."""

    region: Text | None = None
    endpoint_url: Text | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None

    @model_validator(mode="after")
    def _keys_together(self) -> S3:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise PydanticCustomError(
                "keys", "access_key_id and secret_access_key go together: give both, or neither"
            )
        return self


class S3Place(Section):
    """Where files go: ``s3://<bucket>/<prefix>/``. ``url`` is the bucket's public
    address (a website or CDN in front of it) for the link on the build; by default the
    S3 endpoint's own address of the bucket."""

    bucket: Bucket
    prefix: Prefix
    url: Text | None = None
