"""The webhook's spool: a delivery on disk is whole, named in arrival order, and read back
as it came; what a cut-short write left is dropped."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest

from config.github import spool
from config.github.spool import Delivery, delivery_id

BODY = json.dumps({"ref": "refs/heads/x", "zen": "line\nbreaks \u00e9"}).encode()


def test_a_written_delivery_is_read_back_as_it_came(tmp_path: Path) -> None:
    spool.prepare(tmp_path / "spool")
    delivery = Delivery("push", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "application/json", BODY)

    name = delivery.file_name()
    spool.write(tmp_path / "spool", name, delivery)

    assert spool.waiting(tmp_path / "spool") == [name]
    assert spool.read(tmp_path / "spool", name) == delivery
    assert list((tmp_path / "spool").iterdir()) == [tmp_path / "spool" / name]
    spool.remove(tmp_path / "spool", name)
    assert spool.waiting(tmp_path / "spool") == []
    assert spool.read(tmp_path / "spool", name) is None


def test_deliveries_are_listed_oldest_first(tmp_path: Path) -> None:
    spool.prepare(tmp_path)
    names = []
    for n in range(5):
        delivery = Delivery("push", f"id-{4 - n}", "application/json", BODY)
        names.append(delivery.file_name())
        spool.write(tmp_path, names[-1], delivery)

    assert spool.waiting(tmp_path) == names
    assert [spool.read(tmp_path, name).id for name in names] == [  # type: ignore[union-attr]
        "id-4",
        "id-3",
        "id-2",
        "id-1",
        "id-0",
    ]


def test_what_a_cut_short_write_left_is_dropped_and_never_listed(tmp_path: Path) -> None:
    spool.prepare(tmp_path)
    partial = tmp_path / f"00000000000000000001-x{spool.SUFFIX}{spool.TEMPORARY}"
    partial.write_bytes(b'{"event": "pu')
    assert spool.waiting(tmp_path) == []

    spool.prepare(tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_the_spool_is_private_to_the_master(tmp_path: Path) -> None:
    spool.prepare(tmp_path / "spool")
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700


def test_a_hostile_delivery_id_names_a_file_inside_the_spool(tmp_path: Path) -> None:
    delivery = Delivery("push", "../../etc/passwd\n", "application/json", BODY)
    name = delivery.file_name()
    assert "/" not in name and "\n" not in name and name.endswith(spool.SUFFIX)
    spool.prepare(tmp_path)
    spool.write(tmp_path, name, delivery)
    assert spool.read(tmp_path, name) == delivery


def test_a_delivery_without_an_id_gets_one_that_no_redelivery_matches() -> None:
    first, second = delivery_id(None), delivery_id(b"  ")
    assert first != second
    assert not Delivery("push", first, "application/json", BODY).named
    assert Delivery("push", delivery_id(b"abc-1"), "application/json", BODY).named
    assert delivery_id(b"abc-1") == "abc-1"


def test_json_and_form_bodies_give_the_same_payload() -> None:
    form = urllib.parse.urlencode({"payload": BODY.decode()}).encode()
    as_json = Delivery("push", "1", "application/json", BODY).payload()
    as_form = Delivery("push", "1", "application/x-www-form-urlencoded", form).payload()
    assert as_json == as_form == json.loads(BODY)


@pytest.mark.parametrize(
    ("content_type", "body", "refusal"),
    [
        ("text/plain", BODY, "Unknown content type: 'text/plain'"),
        ("application/json", b'{"ref": ', "Payload is not JSON"),
        ("application/json", b"[1]", "Payload is not a JSON object"),
        ("application/json", b"[" * 100_000, "Payload is not JSON"),
        ("application/x-www-form-urlencoded", b"other=1", "Payload is not JSON"),
    ],
)
def test_what_is_not_a_json_object_is_refused(content_type: str, body: bytes, refusal: str) -> None:
    with pytest.raises(ValueError, match=refusal):
        Delivery("push", "1", content_type, body).payload()
