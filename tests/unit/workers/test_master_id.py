"""The id a master tags its EC2 instances with: its own, and kept across restarts."""

from __future__ import annotations

from pathlib import Path

from config.workers.ec2.master_id import FILE_NAME, master_id


def test_a_master_keeps_its_id_and_another_master_has_another(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    made = master_id(one)
    assert master_id(one) == made == (one / FILE_NAME).read_text().strip()
    assert master_id(two) != made
    assert len(made) == 16 and made.isalnum()


def test_a_garbled_id_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"\xff\xfe not an id")
    made = master_id(tmp_path)
    assert made.isalnum() and master_id(tmp_path) == made
