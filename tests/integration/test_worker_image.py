"""slave/build-base and slave/wheelhouse, run as the programs they are, against moto_server.

moto starts no machines, so the build-base test plays the builder instance's part: when
cloud-init-base.sh would end with poweroff, the test stops the instance.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest

from config.workers.ec2 import launch
from tests.harness import MOTO_REGION, Moto, wait_for

ROOT = Path(__file__).resolve().parents[2]
BUILD_BASE = ROOT / "slave" / "build-base"
WHEELHOUSE = ROOT / "slave" / "wheelhouse"
NEWEST_FEDORA = "ami-00002001000002001"


def run(moto: Moto, script: Path, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": MOTO_REGION,
    }
    return subprocess.Popen(
        [sys.executable, str(script), "--endpoint-url", moto.url, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def instances(ec2: Any) -> list[dict[str, Any]]:
    return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]


# --- build-base -------------------------------------------------------------------------


def test_build_base_makes_a_dated_tagged_image_and_terminates_the_builder(moto: Moto) -> None:
    ec2 = moto.client("ec2")
    process = run(moto, BUILD_BASE, "--poll-interval", "0.2", "--timeout", "60")
    try:
        builder = wait_for("the builder instance", lambda: next(iter(instances(ec2)), None), 30)
        user_data = ec2.describe_instance_attribute(
            InstanceId=builder["InstanceId"], Attribute="userData"
        )["UserData"]["Value"]
        assert (
            base64.b64decode(user_data).decode()
            == (ROOT / "slave" / "cloud-init-base.sh").read_text()
        )
        assert builder["ImageId"] == NEWEST_FEDORA
        # cloud-init-base.sh ends with poweroff:
        ec2.stop_instances(InstanceIds=[builder["InstanceId"]])
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    image_id = out.strip()
    [image] = ec2.describe_images(ImageIds=[image_id])["Images"]
    assert re.fullmatch(r"fedora-buildslave-base/\d{8}\.\d{6}", image["Name"])
    assert launch.image_name_pattern("fedora-buildslave-base").fullmatch(image["Name"])
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert tags == {"Name": image["Name"], "source-image": NEWEST_FEDORA, "production": "false"}
    assert [i["State"]["Name"] for i in instances(ec2)] == ["terminated"]
    assert f"terminating builder instance {builder['InstanceId']}" in err


def test_build_base_that_never_powers_off_gives_up_and_terminates_the_builder(
    moto: Moto,
) -> None:
    ec2 = moto.client("ec2")
    process = run(moto, BUILD_BASE, "--poll-interval", "0.2", "--timeout", "1")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert out == ""
    assert re.search(r"build-base: gave up after 1s waiting for builder i-\w+ to power off", err)
    assert "Traceback" not in err
    assert [i["State"]["Name"] for i in instances(ec2)] == ["terminated"]
    assert ec2.describe_images(Owners=["self"])["Images"] == []


def test_promote_makes_one_production_image_that_workers_then_take(moto: Moto) -> None:
    ec2 = moto.client("ec2")
    chosen = "ami-00001002000001002"  # the newest, not yet promoted
    process = run(moto, BUILD_BASE, "promote", chosen)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    images = ec2.describe_images(Owners=["111122223333"])["Images"]
    production = {
        i["Name"] for i in images if {"Key": "production", "Value": "true"} in i.get("Tags", [])
    }
    assert production == {
        "fedora-buildslave-base/20261126.090000",
        # other names keep their own production image
        "fedora-buildslave-base-old/20261201.000000",
        "fedora-buildslave-base-old",
        "xfedora-buildslave-base/20261203.000000",
        "fedora-buildslave-base/20261204.000000.old",
    }
    taken = launch.newest_image(images, "fedora-buildslave-base", production_only=True)
    assert taken is not None and taken["ImageId"] == chosen


# --- wheelhouse -------------------------------------------------------------------------


def make_wheel(directory: Path, name: str, version: str, metadata: str = "") -> Path:
    """A minimal pure-Python wheel, without needing a build backend."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{metadata}"
        ),
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    files[f"{dist_info}/RECORD"] = "".join(
        f"{path},,\n" for path in [*files, f"{dist_info}/RECORD"]
    )
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    return path


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A project ``demo`` whose ``dev`` extra needs ``helper``, and a bystander."""
    directory = tmp_path / "dist"
    directory.mkdir()
    make_wheel(
        directory, "demo", "1.0", 'Provides-Extra: dev\nRequires-Dist: helper>=2; extra == "dev"\n'
    )
    make_wheel(directory, "helper", "2.0")
    make_wheel(directory, "bystander", "1.0")
    return directory


def publish(moto: Moto, dist: Path, requirement: str) -> str:
    process = run(
        moto,
        WHEELHOUSE,
        "--bucket",
        "wheelhouse",
        "--prefix",
        "fedora-x86_64",
        "--",
        "--no-index",
        "--find-links",
        str(dist),
        requirement,
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out.strip()


def test_wheelhouse_publishes_wheels_and_an_index_pip_installs_from(
    moto: Moto, dist: Path, tmp_path: Path
) -> None:
    s3 = moto.client("s3")
    s3.create_bucket(
        Bucket="wheelhouse", CreateBucketConfiguration={"LocationConstraint": MOTO_REGION}
    )

    url = publish(moto, dist, "demo[dev]==1.0")

    assert url == f"{moto.url}/wheelhouse/fedora-x86_64/index.html"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="wheelhouse")["Contents"])
    assert keys == [
        "fedora-x86_64/demo-1.0-py3-none-any.whl",
        "fedora-x86_64/helper-2.0-py3-none-any.whl",
        "fedora-x86_64/index.html",
    ]
    for key in keys:
        head = s3.head_object(Bucket="wheelhouse", Key=key)
        expected = (
            "text/html; charset=utf-8" if key.endswith(".html") else "application/octet-stream"
        )
        assert head["ContentType"] == expected
        grants = s3.get_object_acl(Bucket="wheelhouse", Key=key)["Grants"]
        assert {
            "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ",
        } in grants
    with urllib.request.urlopen(url, timeout=10) as page:
        index = page.read().decode()
    assert re.findall(r'href="([^"]+)"', index) == [
        "demo-1.0-py3-none-any.whl",
        "helper-2.0-py3-none-any.whl",
    ]

    # What a worker's pip does with find-links pointing at the page.
    downloads = tmp_path / "downloads"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-index",
            "--find-links",
            url,
            "--trusted-host",
            "127.0.0.1",
            "--dest",
            str(downloads),
            "demo[dev]==1.0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in downloads.iterdir()) == [
        "demo-1.0-py3-none-any.whl",
        "helper-2.0-py3-none-any.whl",
    ]

    # Publishing another project keeps the wheels already there in the index.
    publish(moto, dist, "bystander")
    with urllib.request.urlopen(url, timeout=10) as page:
        assert len(re.findall(r"href=", page.read().decode())) == 3


def test_wheelhouse_reports_a_failed_build_in_one_line(moto: Moto, dist: Path) -> None:
    process = run(
        moto, WHEELHOUSE, "--bucket", "wheelhouse", "--", "--no-index", "-f", str(dist), "absent"
    )
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "wheelhouse: pip wheel failed with exit status 1" in err
    assert "Traceback" not in err
