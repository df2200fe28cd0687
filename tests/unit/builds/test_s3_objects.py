"""What goes to S3: keys under the prefix, content types, the escaped index, and the
files of a hostile directory (symbolic links never followed)."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from config.builds.s3_objects import (
    content_type,
    etag,
    index_page,
    object_key,
    overlaps,
    thd_local_files,
)
from config.builds.storage import unstage


@pytest.mark.parametrize(
    ("relative", "key"),
    [
        ("index.html", "docs/1.0/index.html"),
        ("_static/a b.css", "docs/1.0/_static/a b.css"),
        ('a<b>&".txt', 'docs/1.0/a<b>&".txt'),
        ("a\\..\\b", "docs/1.0/a\\..\\b"),  # a name on Linux, a key on S3: no path
    ],
)
def test_keys_are_the_paths_under_the_prefix(relative: str, key: str) -> None:
    assert object_key("docs/1.0", relative) == key


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "a//b", "."])
def test_keys_never_leave_the_prefix(relative: str) -> None:
    with pytest.raises(ValueError, match="not a path below the directory"):
        object_key("docs/1.0", relative)


def test_prefixes_that_hold_one_another_overlap() -> None:
    assert overlaps("docs/latest", "docs/latest")
    assert overlaps("docs", "docs/latest")
    assert overlaps("docs/1.0/latest", "docs/1.0")
    assert not overlaps("docs/1.0", "docs/1.0.1")
    assert not overlaps("docs/latest", "docs/1.0")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("docs/index.html", "text/html; charset=utf-8"),
        ("docs/_static/basic.css", "text/css; charset=utf-8"),
        ("docs/_static/doctools.js", "application/javascript"),
        ("docs/logo.png", "image/png"),
        ("docs/objects.inv", "application/octet-stream"),
        ("dist/flocker-1.0.tar.gz", "application/gzip"),
        ("dist/flocker-1.0-py3-none-any.whl", "application/octet-stream"),
        ("README", "application/octet-stream"),
    ],
)
def test_content_types_come_from_the_name(name: str, kind: str) -> None:
    assert content_type(name) == kind


class Links(HTMLParser):
    """The links and the text of a page, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_index_page_shows_hostile_names_as_text() -> None:
    names = [
        "<script>alert(1)</script>.html",
        'x" onmouseover="y.txt',
        "javascript:z",
        "sub/a b.html",
    ]
    page = Links()
    page.feed(index_page("docs/<b>", names).decode())
    assert set(page.tags) == {"html", "head", "meta", "title", "body", "h1", "ul", "li", "a"}
    assert sorted(page.hrefs) == [
        "%3Cscript%3Ealert%281%29%3C/script%3E.html",
        "javascript%3Az",
        "sub/a%20b.html",
        "x%22%20onmouseover%3D%22y.txt",
    ]
    assert set(names) <= set(page.text)
    assert "docs/<b>" in page.text


def test_local_files_leave_out_links_and_never_follow_them(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    root = tmp_path / "html"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<p>hi</p>\n")
    (root / "sub" / "page.html").write_text("page\n")
    os.symlink(outside / "secret.txt", root / "secret.txt")
    os.symlink(outside, root / "linked-dir")
    os.symlink("index.html", root / "alias.html")
    os.mkfifo(root / "pipe")
    (root / os.fsdecode(b"latin-\xe9.txt")).write_text("not UTF-8\n")

    assert thd_local_files(root) == {"index.html": 10, "sub/page.html": 5}


def test_a_file_with_many_names_goes_once(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * 1000)
    for n in range(50):
        os.link(tmp_path / "big.bin", tmp_path / f"copy-{n:02}.bin")
    assert thd_local_files(tmp_path) == {"big.bin": 1000}


def test_etag_is_what_s3_gives_a_single_put(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"hello\n")
    assert etag(tmp_path / "f") == '"b1946ac92492d2347c6235b4d2611184"'


def test_unstage_removes_the_staged_copy_and_empty_parents(tmp_path: Path) -> None:
    top = tmp_path / "s3-staging"
    first = top / "demo" / "release" / "1.0" / "docs-1" / "docs"
    other = top / "demo" / "feature" / "docs-2" / "docs"
    for staged in (first, other):
        (staged / "sub").mkdir(parents=True)
        (staged / "sub" / "f").write_text("x")
    unstage(first, top)
    assert not (top / "demo" / "release").exists()
    assert other.exists() and top.exists()
