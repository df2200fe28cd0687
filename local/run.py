"""``make run``: the master and its local workers on the embedded default, until Ctrl-C."""

from __future__ import annotations

import argparse
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from config.settings import validate
from local.cluster import CHECKOUT, LocalCluster, StartError


def local_settings(config_file: Path, repository: Path, state: Path) -> dict[str, Any]:
    """The embedded default, watching ``repository``.

    The worker password is made once and kept in ``state``: the worker directories
    remember it across runs.
    """
    document: dict[str, Any] = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    for project in document["projects"]:
        project["repository"] = str(repository)
    password_file = state / "worker-password"
    if not password_file.exists():
        state.mkdir(parents=True, exist_ok=True)
        password_file.touch(mode=0o600)
        password_file.write_text(secrets.token_urlsafe(24))
    document.setdefault("workers", {})["password"] = password_file.read_text().strip()
    return document


def _follow(path: Path, master: subprocess.Popen[bytes]) -> Iterator[str]:
    """The lines of the master's log as they come, until the master exits."""
    with path.open(errors="replace") as log:
        while master.poll() is None:
            line = log.readline()
            if line:
                yield line
            else:
                time.sleep(0.3)
        yield from log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the master and local workers.")
    parser.add_argument("--repo", default="", help="the git repository to watch")
    parser.add_argument("--settings", default=str(CHECKOUT / "config.local.yml"))
    parser.add_argument("--dir", default=str(CHECKOUT / ".run"), help="where state lives")
    args = parser.parse_args(argv)

    repository = Path(args.repo or CHECKOUT).resolve()
    if not (repository / ".git").exists() and not (repository / "HEAD").exists():
        print(f"run: {repository} is not a git repository", file=sys.stderr)
        return 2
    # `kill` or a closing terminal stop everything as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    state = Path(args.dir)
    document = local_settings(Path(args.settings), repository, state)
    settings = validate(document)
    cluster = LocalCluster(state, document)
    try:
        cluster.start()
        print(f"\nBuildbot is up: {cluster.url}")
        for admin in settings.auth.admins:
            print(f"  log in as {admin} / {settings.auth.users[admin].get_secret_value()}")
        print(f"  watching {repository}; push or commit to any branch to build it")
        print(f"  state in {cluster.root}; Ctrl-C stops everything\n")
        for line in _follow(cluster.master_dir / "twistd.log", cluster.processes[0]):
            print(line, end="", flush=True)
        print("run: the master stopped", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...")
    except StartError as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
    return 0
