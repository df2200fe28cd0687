"""What BuildmasterConfig holds for the roles a master plays."""

from __future__ import annotations

from pathlib import Path

from config import master
from config.settings import validate
from tests.unit.settings.test_settings import GOOD

CLUSTER = {
    "db_url": "postgresql+psycopg2://bb@127.0.0.1/bb",
    "mq": {"router_url": "ws://127.0.0.1:9000/ws"},
}


def test_single_master_has_everything_and_no_message_queue(tmp_path: Path) -> None:
    config = master.build(validate(GOOD), tmp_path)
    assert {
        "workers",
        "builders",
        "protocols",
        "schedulers",
        "change_source",
        "www",
    } <= config.keys()
    assert "mq" not in config
    assert config["buildbotNetUsageData"] is None


def test_front_master_runs_web_and_schedulers_only(tmp_path: Path) -> None:
    settings = validate({**GOOD, "buildmaster": CLUSTER | {"roles": ["web", "schedulers"]}})
    config = master.build(settings, tmp_path)
    assert config["multiMaster"] is True
    assert config["mq"] == {
        "type": "wamp",
        "router_url": "ws://127.0.0.1:9000/ws",
        "realm": "buildbot",
    }
    assert {"www", "schedulers", "change_source", "services"} <= config.keys()
    assert not {"workers", "builders", "protocols"} & config.keys()
    assert not (tmp_path / "worker-tls").exists()  # no worker port, no certificate


def test_worker_master_runs_builds_without_schedulers(tmp_path: Path) -> None:
    settings = validate({**GOOD, "buildmaster": CLUSTER | {"roles": ["workers"]}})
    config = master.build(settings, tmp_path)
    assert [w.name for w in config["workers"]] == ["worker-1", "worker-2"]
    assert [b.name for b in config["builders"]] == ["tests"]
    # No reporters here: they are the scheduling master's.
    assert not {"www", "schedulers", "change_source"} & config.keys()
    assert [service.name for service in config["services"]] == ["long-lived-objects"]
