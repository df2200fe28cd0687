"""Worker pools from settings: which workers each pool gives, which builders run where,
and one line naming the key for each mistake."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from config import master, secrets
from config.settings import validate
from config.workers import pools
from config.workers.ec2.launch import Launch, offers
from config.workers.ec2.worker import SpotWorker
from tests.unit.settings.test_settings import GOOD, message
from tests.unit.workers.test_ec2_config import AWS

POOLS: list[dict[str, Any]] = [
    {"name": "small", "kind": "ec2", "count": 2, "instance_types": ["c5.large", "m5.large"]},
    {
        "name": "large",
        "kind": "ec2",
        "count": 1,
        "instance_types": ["c5.4xlarge"],
        "subnets": ["subnet-a", "subnet-b"],
        "market": "spot-then-on-demand",
        "max_spot_price": 0.6,
        "instance_profile": "buildbot-worker",
        "idle_timeout": 120,
        "tags": {"team": "storage"},
    },
    {"name": "mac", "kind": "static", "workers": [{"name": "mac-mini", "password": "mac-pw"}]},
    {"name": "here", "kind": "local", "count": 1, "password": "local-pw"},
    {"name": "box", "kind": "docker", "count": 1, "image": "worker:1", "network_mode": "host"},
]


def document(**builder: Any) -> dict[str, Any]:
    found = copy.deepcopy(GOOD)
    found["workers"] = copy.deepcopy(POOLS)
    found["aws"] = dict(AWS)
    found["projects"][0]["builders"][0].update(builder)
    return found


def test_each_pool_gives_its_workers_named_after_it() -> None:
    built = pools.build(validate(document()))
    assert [(w.name, type(w).__name__) for w in built] == [
        ("small-1", "SpotWorker"),
        ("small-2", "SpotWorker"),
        ("large-1", "SpotWorker"),
        ("mac-mini", "Worker"),
        ("here-1", "Worker"),
        ("box-1", "DockerWorker"),
    ]


def test_a_builder_runs_only_on_the_workers_of_its_pools(tmp_path: Path) -> None:
    [only_large] = master.build(validate(document(pools=["large", "mac"])), tmp_path)["builders"]
    assert only_large.workernames == ["large-1", "mac-mini"]
    [anywhere] = master.build(validate(document()), tmp_path)["builders"]
    assert anywhere.workernames == [
        "small-1",
        "small-2",
        "large-1",
        "mac-mini",
        "here-1",
        "box-1",
    ]


def test_an_ec2_pool_launches_as_its_settings_say() -> None:
    large = next(w for w in pools.build(validate(document())) if w.name == "large-1")
    assert isinstance(large, SpotWorker)
    launch: Launch = large._config_kwargs["launch"]
    assert [str(offer) for offer in offers(launch)] == [
        "spot c5.4xlarge in subnet-a",
        "spot c5.4xlarge in subnet-b",
        "on-demand c5.4xlarge in subnet-a",
        "on-demand c5.4xlarge in subnet-b",
    ]
    assert launch.max_spot_price == 0.6
    assert launch.instance_profile == "buildbot-worker"
    assert ("team", "storage") in launch.tags and ("buildbot-pool", "large") in launch.tags
    assert large._config_kwargs["build_wait_timeout"] == 120


def test_an_ec2_pool_takes_what_it_leaves_out_from_aws() -> None:
    small = pools.build(validate(document()))[0]
    launch: Launch = small._config_kwargs["launch"]
    assert [str(offer) for offer in offers(launch)] == [
        "spot c5.large in the default subnet",
        "spot m5.large in the default subnet",
    ]
    assert launch.max_spot_price == AWS["max_spot_price"]
    assert launch.instance_profile is None
    assert small._config_kwargs["build_wait_timeout"] == 600  # per-second billing


def test_a_docker_pool_runs_each_build_in_a_container_of_its_image() -> None:
    box = pools.build(validate(document()))[-1]
    arguments = box._config_kwargs
    assert box._config_args == ("box-1", None)  # a new random password per container
    assert arguments["image"] == "worker:1"
    assert arguments["docker_host"] == "unix:///var/run/docker.sock"
    assert arguments["masterFQDN"] == "127.0.0.1:9989"
    assert arguments["hostconfig"] == {"network_mode": "host"}
    assert arguments["build_wait_timeout"] == 0  # removed after each build


def test_a_docker_workers_container_is_given_the_authority_it_verifies_the_master_by() -> None:
    box = pools.build(validate(document()), "PEM OF THE CA")[-1]
    assert box._config_kwargs["master_ca"] == "PEM OF THE CA"
    box.master_ca, box.masterFQDN, box.master_protocol = "PEM OF THE CA", "127.0.0.1:9989", "pb"
    box.name, box.password, box.registration = "box-1", "pw", None
    assert box.createEnvironment()["BUILDMASTER_CA"] == "PEM OF THE CA"


def test_static_workers_passwords_are_secrets_of_their_own() -> None:
    settings = validate(document())
    found = secrets.collect(settings)
    assert found["workers.2.workers.0.password"] == "mac-pw"
    assert found["workers.3.password"] == "local-pw"
    assert "mac-pw" not in repr(settings)


def test_without_keys_the_master_uses_boto3s_default_credentials() -> None:
    settings = document()
    del settings["aws"]["access_key_id"], settings["aws"]["secret_access_key"]
    built = validate(settings)
    assert not any(path.startswith("aws.") for path in secrets.collect(built))
    small = pools.build(built)[0]
    assert small._config_kwargs["access_key_id"] is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["projects"][0]["builders"][0].update(pools=["huge"]),
            'config: projects[0].builders[0].pools: no pool named "huge" in workers',
        ),
        (
            lambda d: d["workers"][1].update(name="small"),
            'config: workers: pool name "small" is used twice',
        ),
        (
            lambda d: d["workers"][2]["workers"][0].update(name="small-2"),
            'config: workers: worker name "small-2" is used twice',
        ),
        (
            lambda d: d["workers"][2].update(workers=[]),
            "config: workers[2].workers: must not be empty",
        ),
        (
            lambda d: d["workers"][1].update(market="reserved"),
            "config: workers[1].market: must be one of 'spot', 'spot-then-on-demand' or "
            "'on-demand', got \"reserved\"",
        ),
        (
            lambda d: d["workers"][0].update(instance_type="c5.large"),
            "config: workers[0].instance_type: unknown key",
        ),
        (
            lambda d: d["workers"][3].pop("kind"),
            "config: workers[3]: needs a 'kind' key",
        ),
        (
            lambda d: d.pop("aws"),
            "config: aws: required key is missing (an ec2 pool needs it)",
        ),
        (
            lambda d: d["aws"].pop("secret_access_key"),
            "config: aws: access_key_id and secret_access_key go together: give both, or "
            "neither to use the master's instance role (boto3's default credentials)",
        ),
    ],
)
def test_pool_mistakes_get_one_line_naming_the_key(change: Any, expected: str) -> None:
    settings = document()
    change(settings)
    assert message(settings) == expected


UNTRUSTED_MISTAKES = [
    (
        lambda d: d["workers"][3].update(untrusted=True),
        "config: workers[3]: untrusted: its workers stay between builds, so an untrusted "
        "build could leave code for the next: only docker pools and ec2 pools with "
        "idle_timeout: 0 may take untrusted builds",
    ),
    (
        lambda d: d["workers"][1].update(untrusted=True),
        "config: workers[1]: untrusted: its instances wait for more builds (idle_timeout is "
        "not 0), so an untrusted build could leave code for the next: only docker pools and "
        "ec2 pools with idle_timeout: 0 may take untrusted builds",
    ),
    (
        lambda d: (
            d["projects"][0]["builders"][0].update(pools=["box"])
            or d["workers"][4].update(untrusted=True)
        ),
        "config: projects[0].builders[0].pools: every one takes untrusted builds only; add a "
        "pool for the trusted ones",
    ),
    (
        lambda d: d.update(
            changes={"kind": "github"},
            github={"token": "t", "webhook_secret": "s", "pull_requests": {"forks": True}},
        ),
        "config: github.pull_requests.forks: pull requests from forks build only on a pool "
        "marked untrusted: true, and there is none (mark an ephemeral pool: docker, or ec2 "
        "with idle_timeout: 0)",
    ),
]


@pytest.mark.parametrize(("change", "expected"), UNTRUSTED_MISTAKES)
def test_untrusted_builds_land_only_on_ephemeral_workers(change: Any, expected: str) -> None:
    changed = document()
    change(changed)
    assert message(changed) == expected


def test_untrusted_builds_run_only_on_untrusted_pools_and_trusted_ones_never_there(
    tmp_path: Path,
) -> None:
    changed = document()
    changed["workers"][4]["untrusted"] = True
    changed["workers"][0]["idle_timeout"] = 0
    changed["workers"][0]["untrusted"] = True
    changed["changes"] = {"kind": "github"}
    changed["github"] = {"token": "t", "webhook_secret": "s"}
    settings = validate(changed)
    assert settings.forks_build()
    [builder] = master.build(settings, tmp_path)["builders"]
    assert sorted(builder.canStartBuild.__closure__[0].cell_contents) == [
        "box-1",
        "small-1",
        "small-2",
    ]
    # An untrusted ec2 pool's instances get no role but their own.
    small = pools.build(settings)[0]
    assert small._config_kwargs["launch"].instance_profile is None
