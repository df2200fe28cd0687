"""What goes to S3, and the single S3 requests that put it there.

The files come from a build, so they are hostile: names are free text (shown HTML-escaped
in the index page), symbolic links are never followed (a link in the directory is left
out, whatever it points at), and every key is its file's path below the directory, under
the prefix. Each ``thd_`` function blocks for one S3 request (or one file's read) and runs
in a thread, never in the reactor.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

INDEX = "index.html"
"""The index page of a prefix: the directory's own, or a generated list of its files."""

DELETE_BATCH = 1000
"""Keys one DeleteObjects request takes at most (S3's limit)."""

_TYPES = mimetypes.MimeTypes()
"""Python's own table, not the host's ``/etc/mime.types``: the same types on every master."""

ENCODED = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}
"""What a compressed file is served as (``x.tar.gz`` is a gzip file, not a tar file)."""


def content_type(name: str) -> str:
    """The ``Content-Type`` of a file named ``name``; text is UTF-8."""
    kind, encoding = _TYPES.guess_type(name, strict=False)
    if encoding is not None:
        return ENCODED.get(encoding, "application/octet-stream")
    if kind is None:
        return "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind


def object_key(prefix: str, relative: str) -> str:
    """The key of the file at ``relative`` (a ``/``-separated path below the directory)
    under ``prefix``; raises ValueError for a path that would leave it."""
    if any(part in ("", ".", "..") for part in relative.split("/")):
        raise ValueError(f"{relative!r} is not a path below the directory")
    return f"{prefix}/{relative}"


def overlaps(one: str, other: str) -> bool:
    """Whether the prefixes hold one another (syncing one would delete the other)."""
    return one == other or one.startswith(other + "/") or other.startswith(one + "/")


def index_page(title: str, names: Iterable[str]) -> bytes:
    """A page linking to each of ``names`` (paths below the page), escaped: a file name is
    the build's text, never markup."""
    items = "".join(
        f'<li><a href="{html.escape(quote(name))}">{html.escape(name)}</a></li>\n'
        for name in sorted(names)
    )
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n<ul>\n{items}</ul></body></html>\n"
    )
    return page.encode()


def thd_local_files(root: Path) -> dict[str, int]:
    """The regular files below ``root``, as ``/``-separated paths, with their sizes.
    Symbolic links (to files or directories) are left out and never followed, and so are
    names that are not UTF-8 (no S3 key can hold them). A file with several names (hard
    links, which the transfer's archive may hold) goes under its first name only: sent as
    a few bytes each, its names would otherwise multiply what is put in S3 far past the
    upload's limit."""
    found: dict[str, int] = {}
    seen: set[tuple[int, int]] = set()
    for directory, subdirs, files in os.walk(root, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if not os.path.islink(os.path.join(directory, d)))
        for name in sorted(files):
            path = os.path.join(directory, name)
            info = os.lstat(path)
            relative = PurePosixPath(Path(path).relative_to(root)).as_posix()
            inode = (info.st_dev, info.st_ino)
            if stat.S_ISREG(info.st_mode) and _is_utf8(relative) and inode not in seen:
                seen.add(inode)
                found[relative] = info.st_size
    return found


def _is_utf8(name: str) -> bool:
    try:
        name.encode()
    except UnicodeEncodeError:  # bytes the file system gave as surrogates
        return False
    return True


def etag(path: Path) -> str:
    """The ETag S3 gives a file put in one request: its MD5, quoted."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return f'"{digest.hexdigest()}"'


def thd_client(
    region: str | None, endpoint_url: str | None, key_id: str | None, secret: str | None
) -> Any:
    """An S3 client (no request made). Without keys, boto3's default chain finds them."""
    session = boto3.session.Session(
        aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region
    )
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 3},
            connect_timeout=10,
            read_timeout=60,
        ),
    )


def thd_listing(
    client: Any, bucket: str, prefix: str, token: str | None
) -> tuple[dict[str, str], str | None]:
    """One page of the objects under ``prefix/`` (key: ETag), and the next page's token."""
    args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix + "/"}
    if token is not None:
        args["ContinuationToken"] = token
    page = client.list_objects_v2(**args)
    found = {item["Key"]: item.get("ETag", "") for item in page.get("Contents", [])}
    return found, page.get("NextContinuationToken") if page.get("IsTruncated") else None


def thd_put_file(client: Any, bucket: str, key: str, path: Path, known: str | None) -> bool:
    """Put the file at ``path`` as ``key`` unless S3 has it already (the same ETag);
    whether it was put."""
    if known is not None and known == etag(path):
        return False
    with path.open("rb") as body:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type(key))
    return True


def thd_put_index(client: Any, bucket: str, prefix: str, names: list[str]) -> str:
    """Put the index page of ``names`` under ``prefix``; its key."""
    key = object_key(prefix, INDEX)
    page = index_page(prefix, names)
    client.put_object(Bucket=bucket, Key=key, Body=page, ContentType=content_type(key))
    return key


def thd_delete(client: Any, bucket: str, keys: list[str]) -> None:
    """Delete ``keys`` (at most :data:`DELETE_BATCH`) in one request."""
    client.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
    )


def problem(error: BaseException) -> str | None:
    """An S3 failure in a line (``Code: message``), or None if it is not one."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
    if isinstance(error, BotoCoreError):
        return str(error)
    return None
