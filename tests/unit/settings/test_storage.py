"""S3 places and the ``s3`` section: each mistake is one line naming the key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.builds.storage import S3Access, s3_access
from config.settings import validate
from config.settings.storage import check_prefix, prefix_problem
from tests.unit.settings.test_settings import GOOD, message

STEP = "config: projects[0].builders[0].steps[0]"


def publishing(step: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """GOOD whose builder has ``step`` (a publish step, unless it says its kind)."""
    document = copy.deepcopy(GOOD)
    document["projects"][0]["builders"][0]["steps"] = [
        {"kind": "publish", "source": "html", **step}
    ]
    return {**document, **sections}


def test_publish_and_s3_upload_load() -> None:
    place = {"bucket": "docs.example.com", "prefix": "docs/%(prop:version)s/"}
    settings = validate(publishing({"s3": place, "stable": "docs/latest"}))
    [step] = settings.projects[0].builders[0].steps
    assert step.s3.prefix == "docs/%(prop:version)s"  # type: ignore[union-attr]
    upload = {"kind": "upload", "s3": {"bucket": "art-1", "prefix": "b/%(prop:buildnumber)s"}}
    validate(publishing(upload))


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            {"s3": {"bucket": "Docs", "prefix": "docs"}},
            f"{STEP}.s3.bucket: must be an S3 bucket name (3 to 63 lowercase letters, "
            "digits, '.' or '-'), got \"Docs\"",
        ),
        (
            {"s3": {"bucket": "192.168.1.1", "prefix": "docs"}},
            f"{STEP}.s3.bucket: must be an S3 bucket name (3 to 63 lowercase letters, "
            "digits, '.' or '-'), got \"192.168.1.1\"",
        ),
        (
            {"s3": {"bucket": "docs", "prefix": "/docs"}},
            f'{STEP}.s3.prefix: must not start with /, got "/docs"',
        ),
        (
            {"s3": {"bucket": "docs", "prefix": "docs/../site"}},
            f"{STEP}.s3.prefix: must not have an empty, '.' or '..' part, got \"docs/../site\"",
        ),
        (
            {"s3": {"bucket": "docs", "prefix": "docs"}, "stable": "a//latest"},
            f"{STEP}.stable: must not have an empty, '.' or '..' part, got \"a//latest\"",
        ),
        ({"s3": {"bucket": "docs"}}, f"{STEP}.s3.prefix: required key is missing"),
        (
            {"s3": {"bucket": "docs", "prefix": "docs/%(version)s"}},
            f"{STEP}.s3.prefix: may hold % only to name a property, as %(prop:<name>)s, "
            'got "docs/%(version)s"',
        ),
        (
            {"s3": {"bucket": "docs", "prefix": "docs"}, "stable": "docs/100%"},
            f"{STEP}.stable: may hold % only to name a property, as %(prop:<name>)s, "
            'got "docs/100%"',
        ),
    ],
)
def test_s3_place_mistakes_name_the_key(step: dict[str, Any], expected: str) -> None:
    assert message(publishing(step)) == expected


def test_s3_keys_go_together() -> None:
    document = publishing(
        {"s3": {"bucket": "docs", "prefix": "docs"}}, s3={"access_key_id": "AKIA"}
    )
    assert message(document) == (
        "config: s3: access_key_id and secret_access_key go together: give both, or neither"
    )


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        ("docs/1.0", None),
        ("builds/release/1.0/12/", None),
        ("", "must not be empty"),
        ("/etc", "must not start with /"),
        ("docs/../../x", "must not have an empty, '.' or '..' part"),
        ("docs/./x", "must not have an empty, '.' or '..' part"),
        ("docs\\..\\x", "must hold no backslash or control character"),
        ("docs/1.0\n", "must hold no backslash or control character"),
        ("x" * 513, "must be at most 512 characters"),
    ],
)
def test_rendered_prefixes_stay_where_they_are_put(prefix: str, problem: str | None) -> None:
    # A prefix renders a property the build set itself (the version): checked again.
    assert prefix_problem(prefix) == problem
    if problem is None:
        assert check_prefix(prefix) == prefix.removesuffix("/")
    else:
        with pytest.raises(ValueError, match=problem.replace(".", r"\.")):
            check_prefix(prefix)


def test_s3_access_reuses_the_aws_section() -> None:
    aws = {
        "region": "eu-west-1",
        "access_key_id": "AKIA",
        "secret_access_key": "s",
        "max_spot_price": 0.1,
        "keypair": "k",
        "security_group": "ssh",
    }
    place = {"s3": {"bucket": "docs", "prefix": "docs"}}
    assert s3_access(validate(publishing(place))) == S3Access()
    assert s3_access(validate(publishing(place, aws=aws))) == S3Access(
        "eu-west-1", None, ("aws.access_key_id", "aws.secret_access_key")
    )
    own = {"endpoint_url": "http://127.0.0.1:5000", "access_key_id": "A", "secret_access_key": "B"}
    assert s3_access(validate(publishing(place, aws=aws, s3=own))) == S3Access(
        "eu-west-1", "http://127.0.0.1:5000", ("s3.access_key_id", "s3.secret_access_key")
    )
