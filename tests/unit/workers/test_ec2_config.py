"""The ec2 settings, image choice, user-data rendering and the worker image's shell scripts."""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import mends
from config.settings import validate
from config.workers import pools, userdata
from config.workers.ec2 import launch
from config.workers.ec2.worker import SpotWorker
from tests.unit.settings.test_settings import GOOD, message

ROOT = Path(__file__).resolve().parents[3]

AWS: dict[str, Any] = {
    "region": "us-west-2",
    "access_key_id": "AKIDEXAMPLE",
    "secret_access_key": "secret",
    "max_spot_price": 0.1,
    "keypair": "hybrid-master",
    "security_group": "ssh",
}


def ec2_document(**aws: Any) -> dict[str, Any]:
    document = copy.deepcopy(GOOD)
    document["workers"] = {"kind": "ec2", "count": 3}
    document["aws"] = {**AWS, **aws}
    return document


# --- settings ---------------------------------------------------------------------------


def test_ec2_workers_need_the_aws_section() -> None:
    document = ec2_document()
    del document["aws"]
    assert message(document) == "config: aws: required key is missing (an ec2 pool needs it)"


@pytest.mark.parametrize(
    ("aws", "expected"),
    [
        (
            {"max_spot_price": "cheap"},
            'config: aws.max_spot_price: must be a positive number, got "cheap"',
        ),
        ({"keypair": None}, "config: aws.keypair: must be a string, got null"),
        ({"ami_owners": []}, "config: aws.ami_owners: must not be empty"),
        (
            {"ami_owners": ["12345"]},
            "config: aws.ami_owners[0]: must be a 12-digit AWS account id, 'self' or 'amazon', got \"12345\"",
        ),
        (
            {"security_group": None},
            "config: aws: security_group or subnet_id is required (where instances run)",
        ),
        (
            {"build_wait_timeout": -5},
            "config: aws.build_wait_timeout: must be a number of seconds from 0 to 86400, got -5",
        ),
        ({"regoin": "x"}, "config: aws.regoin: unknown key"),
    ],
)
def test_aws_mistakes_get_one_line_naming_the_key(aws: dict[str, Any], expected: str) -> None:
    assert message(ec2_document(**aws)) == expected


def test_aws_secrets_are_secret_and_defaults_are_sane() -> None:
    settings = validate(ec2_document(secret_access_key="s3cr3t-value"))
    assert settings.aws is not None
    assert "s3cr3t-value" not in repr(settings.aws)
    assert "AKIDEXAMPLE" not in repr(settings.aws)
    assert settings.aws.ami_name == "fedora-buildslave-base"
    assert settings.aws.ami_production_only is True
    [pool] = settings.workers
    assert pool.kind == "ec2" and "password" not in type(pool).model_fields


def test_example_settings_are_valid_and_use_ec2_workers() -> None:
    example = validate(yaml.safe_load((ROOT / "config.yml.example").read_text()))
    assert {pool.kind for pool in example.workers} == {"ec2", "static", "docker"}
    assert example.aws is not None


# --- workers from settings --------------------------------------------------------------


def test_ec2_settings_give_named_spot_workers_without_calling_aws() -> None:
    # No endpoint and no network: a call to AWS here would fail or hang.
    built = pools.build(validate(ec2_document(build_wait_timeout=120)))
    assert [w.name for w in built] == ["worker-1", "worker-2", "worker-3"]
    assert all(isinstance(w, SpotWorker) for w in built)
    first = built[0]
    assert isinstance(first, SpotWorker)
    launch = first._config_kwargs["launch"]
    assert dict(launch.values)["WORKER_NAME"] == "worker-1"
    assert dict(launch.tags)["Name"] == "buildbot worker-1"
    assert first._config_kwargs["build_wait_timeout"] == 120
    # The worker's password is not in the configuration at all: the worker picks it.
    assert first._config_args == ("worker-1", None)


# --- image choice -----------------------------------------------------------------------


def image(
    name: str, date: str, state: str = "available", production: bool = True
) -> dict[str, Any]:
    tags = [{"Key": "production", "Value": "true"}] if production else []
    return {
        "ImageId": f"ami-{name}-{date}",
        "Name": name,
        "CreationDate": date,
        "State": state,
        "Tags": tags,
    }


@pytest.mark.parametrize(
    ("name", "matches"),
    [
        ("fedora-buildslave-base", True),
        ("fedora-buildslave-base/20261125.120000", True),
        ("fedora-buildslave-base-old", False),
        ("fedora-buildslave-base-old/20261125.120000", False),
        ("fedora-buildslave-base/20261125", False),
        ("fedora-buildslave-base/20261125.120000.bak", False),
        ("xfedora-buildslave-base", False),
        ("fedora-buildslave-basX", False),
    ],
)
def test_image_name_is_anchored(name: str, matches: bool) -> None:
    pattern = launch.image_name_pattern("fedora-buildslave-base")
    assert (pattern.fullmatch(name) is not None) is matches


def test_newest_available_production_image_is_chosen() -> None:
    images = [
        image("fedora-buildslave-base/20261120.000000", "2026-11-20T00:00:00.000Z"),
        image("fedora-buildslave-base/20261125.000000", "2026-11-25T00:00:00.000Z"),
        image(
            "fedora-buildslave-base/20261126.000000", "2026-11-26T00:00:00.000Z", production=False
        ),
        image(
            "fedora-buildslave-base/20261127.000000", "2026-11-27T00:00:00.000Z", state="pending"
        ),
        image("fedora-buildslave-base-old", "2026-11-28T00:00:00.000Z"),
    ]
    chosen = launch.newest_image(images, "fedora-buildslave-base", production_only=True)
    assert chosen is not None and chosen["Name"] == "fedora-buildslave-base/20261125.000000"
    any_image = launch.newest_image(images, "fedora-buildslave-base", production_only=False)
    assert any_image is not None and any_image["Name"] == "fedora-buildslave-base/20261126.000000"
    assert launch.newest_image(images[-2:], "fedora-buildslave-base", production_only=True) is None


# --- user data --------------------------------------------------------------------------

VALUES = {
    "MASTER_HOST": "build.example.com",
    "MASTER_PORT": "9989",
    "MASTER_CA": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "WORKER_NAME": "worker-1",
    "WORKER_PASSWORD": "pw'; rm -rf / #",
    "WHEELHOUSE_URL": "https://wheels.example.com/",
    "WORKER_TAC": "import this\n" + mends.worker_tac(),
}


def test_user_data_values_are_shell_quoted() -> None:
    text = userdata.render(userdata.TEMPLATE.read_text(), VALUES)
    assert "WORKER_NAME=worker-1\n" in text
    assert "TOKEN" not in text  # no GitHub token travels in user data
    assert "WORKER_PASSWORD='pw'\"'\"'; rm -rf / #'\n" in text
    assert re.search(r"@[A-Z_]+@", text) is None
    done = subprocess.run(
        ["bash", "-c", f'{text.split("WORKER_USER=")[0]}\nprintf %s "$WORKER_PASSWORD"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == VALUES["WORKER_PASSWORD"]


def test_user_data_connects_over_tls_trusting_the_masters_authority() -> None:
    text = userdata.render(userdata.TEMPLATE.read_text(), VALUES)
    assert "MASTER_CA='-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'\n" in text
    assert '--connection-string="$CONNECTION"' in text
    assert 'CONNECTION="$CONNECTION:trustRoots=$WORKER_HOME/master-ca"' in text


def test_user_data_appends_its_python_to_the_workers_tac(tmp_path: Path) -> None:
    text = userdata.render(userdata.TEMPLATE.read_text(), VALUES)
    [append] = re.findall(r"^printf .*WORKER_TAC.*$", text, re.M)
    tac = tmp_path / "worker" / "buildbot.tac"
    tac.parent.mkdir()
    tac.write_text("s = Worker()\n")
    script = f"{text.split('WORKER_USER=')[0]}\nWORKER_HOME={tmp_path}\n{append}"
    subprocess.run(["bash", "-c", script], check=True)
    assert tac.read_text() == "s = Worker()\n" + VALUES["WORKER_TAC"] + "\n"


def test_user_data_needs_every_value_and_no_others() -> None:
    template = userdata.TEMPLATE.read_text()
    with pytest.raises(KeyError, match="WORKER_NAME"):
        userdata.render(template, {k: v for k, v in VALUES.items() if k != "WORKER_NAME"})
    with pytest.raises(ValueError, match="EXTRA"):
        userdata.render(template, {**VALUES, "EXTRA": "x"})


def test_workers_give_the_template_every_value_but_the_password() -> None:
    worker = pools.build(validate(ec2_document()))[0]
    given = {k for k, _ in worker._config_kwargs["launch"].values}
    assert given | {"WORKER_PASSWORD"} == userdata.placeholders(userdata.TEMPLATE.read_text())


# --- the worker image (its scripts pass shellcheck: tests/unit/test_lint_scripts.py) ------


def test_image_bakes_the_buildbot_worker_version_the_master_runs() -> None:
    pinned = re.search(r"^buildbot-worker==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    baked = re.search(
        r"^BUILDBOT_WORKER_VERSION=(\S+)$", (ROOT / "slave/cloud-init-base.sh").read_text(), re.M
    )
    assert pinned is not None and baked is not None
    assert baked.group(1) == pinned.group(1)
