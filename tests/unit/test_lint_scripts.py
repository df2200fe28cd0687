"""The Dockerfile passes hadolint and every shell script in the repository passes shellcheck."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    found = shutil.which(
        name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return found


def shell_scripts() -> list[str]:
    """Tracked files that are shell scripts: a .sh name or a sh/bash #! line."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=CHECKOUT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    found = []
    for name in filter(None, tracked):
        path = CHECKOUT / name
        if not path.is_file():
            continue
        with path.open("rb") as file:
            first = file.readline()
        if name.endswith(".sh") or (
            first.startswith(b"#!") and first.split(b"/")[-1].split()[-1] in (b"sh", b"bash")
        ):
            found.append(name)
    return sorted(found)


def test_the_deploy_scripts_are_found() -> None:
    assert {
        ".ci/run",
        "build-images",
        "deploy/entrypoint",
        "deploy/make-base-image",
        "slave/cloud-init.sh",
        "config/builds/scripts/merge_forward.sh",
    } <= set(shell_scripts())


def test_every_shell_script_passes_shellcheck() -> None:
    done = subprocess.run(
        [_tool("shellcheck"), *shell_scripts()], cwd=CHECKOUT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dockerfiles_pass_hadolint() -> None:
    done = subprocess.run(
        [_tool("hadolint"), "Dockerfile", "slave/docker/Dockerfile"],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
