"""The README and the reference pages it links render cleanly: a broken table or heading is
a warning, and fails here."""

from __future__ import annotations

from pathlib import Path

from docutils.core import publish_doctree

ROOT = Path(__file__).resolve().parents[2]


def test_readme_renders_without_warnings() -> None:
    text = (ROOT / "README.rst").read_text(encoding="utf-8")
    tree = publish_doctree(text, settings_overrides={"halt_level": 2, "report_level": 2})
    titles = [node.astext() for node in tree.findall(lambda n: n.tagname == "title")]
    assert titles[:4] == ["Build master", "The two commands", "Layout", "Settings"]


def test_reference_pages_render_without_warnings() -> None:
    pages = sorted((ROOT / "docs").glob("*.rst"))
    assert pages
    for page in pages:
        publish_doctree(
            page.read_text(encoding="utf-8"),
            settings_overrides={"halt_level": 2, "report_level": 2},
        )
