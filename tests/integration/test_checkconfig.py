"""`buildbot checkconfig` on master.cfg: one line for bad settings, no traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from local.cluster import MASTER_CFG
from tests.unit.settings.test_settings import GOOD
from tests.unit.workers.test_ec2_config import AWS as EC2_AWS

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def master_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("checkconfig") / "master"
    subprocess.run(
        [str(BIN / "buildbot"), "create-master", "-q", f"--config={MASTER_CFG}", str(directory)],
        check=True,
    )
    return directory


def checkconfig(master_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BUILDBOT_CONFIG")}
    return subprocess.run(
        [str(BIN / "buildbot"), "checkconfig", str(master_dir)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_invalid_json_prints_one_line_naming_the_variable(master_dir: Path) -> None:
    done = checkconfig(master_dir, BUILDBOT_CONFIG='{"oops"')
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    named = [line for line in done.stderr.splitlines() if "BUILDBOT_CONFIG" in line]
    assert named == [
        "  config: BUILDBOT_CONFIG: invalid JSON at line 1 column 8: Expecting ':' delimiter"
    ]


def test_invalid_value_prints_the_key(master_dir: Path) -> None:
    bad = {**GOOD, "tree_stable_timer": "soon"}
    done = checkconfig(master_dir, BUILDBOT_CONFIG=json.dumps(bad))
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    assert "config: tree_stable_timer: must be a number of seconds" in done.stderr


def test_good_settings_pass(master_dir: Path) -> None:
    done = checkconfig(master_dir, BUILDBOT_CONFIG=json.dumps(GOOD))
    assert done.returncode == 0, done.stderr
    assert "Config file is good!" in done.stdout


def test_ec2_settings_pass_without_calling_aws(master_dir: Path) -> None:
    # The EC2 endpoint is a socket that nobody answers: any AWS call would connect to it.
    with socket.socket() as endpoint:
        endpoint.bind(("127.0.0.1", 0))
        endpoint.listen(8)
        endpoint.setblocking(False)
        url = f"http://127.0.0.1:{endpoint.getsockname()[1]}"
        document = {
            **GOOD,
            "workers": {"kind": "ec2", "count": 3},
            "aws": {**EC2_AWS, "endpoint_url": url},
        }
        done = checkconfig(master_dir, BUILDBOT_CONFIG=json.dumps(document))
        assert done.returncode == 0, done.stderr
        assert "Config file is good!" in done.stdout
        with pytest.raises(BlockingIOError):
            endpoint.accept()


def test_another_buildbot_is_refused_in_one_line_unless_mends_are_off(
    master_dir: Path, tmp_path: Path
) -> None:
    """The version guard: a Buildbot web UI other than the one the mends were verified on
    (an installed distribution saying 4.4.0, found first on the path) is refused."""
    newer = tmp_path / "newer" / "buildbot_www-4.4.0.dist-info"
    newer.mkdir(parents=True)
    (newer / "METADATA").write_text("Metadata-Version: 2.1\nName: buildbot-www\nVersion: 4.4.0\n")
    path = os.pathsep.join([str(newer.parent), os.environ.get("PYTHONPATH", "")])

    done = checkconfig(master_dir, BUILDBOT_CONFIG=json.dumps(GOOD), PYTHONPATH=path)
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    [line] = [line for line in done.stderr.splitlines() if "mends:" in line]
    assert line == (
        "  mends: verified on buildbot-www 4.3.0, but 4.4.0 is installed; re-verify them "
        "(mends/guard.py says how) or set buildmaster.mends: false to run stock Buildbot"
    )

    stock = {**GOOD, "buildmaster": {**GOOD.get("buildmaster", {}), "mends": False}}
    done = checkconfig(master_dir, BUILDBOT_CONFIG=json.dumps(stock), PYTHONPATH=path)
    assert done.returncode == 0, done.stderr
