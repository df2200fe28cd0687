"""Every kind of settings mistake gets one line naming the key, and good settings load."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from config.settings import ENV_FILE, ENV_JSON, Settings, SettingsError, load, validate
from config.workers import pools

GOOD: dict[str, Any] = {
    "auth": {"users": {"admin": "admin-pw"}, "admins": ["admin"]},
    "workers": {"kind": "local", "count": 2, "password": "pw"},
    "projects": [
        {
            "name": "flocker",
            "repository": "https://github.com/ClusterHQ/flocker",
            "builders": [{"name": "tests", "steps": [{"kind": "run", "command": ["true"]}]}],
        }
    ],
}


def changed(path: str, value: Any) -> dict[str, Any]:
    """GOOD with the value at a dotted path (list indexes as numbers) replaced or removed."""
    document = copy.deepcopy(GOOD)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = document
    for part in parents:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    if value is REMOVE:
        del node[last]
    else:
        node[last] = value
    return document


REMOVE = object()


def message(document: Any) -> str:
    with pytest.raises(SettingsError) as raised:
        validate(document)
    return str(raised.value)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "trusted",
            ["OWNER", "FRIEND"],
            "config: github.pull_requests.trusted[1]: must be one of 'OWNER', 'MEMBER', "
            "'COLLABORATOR', 'CONTRIBUTOR', 'FIRST_TIME_CONTRIBUTOR', 'FIRST_TIMER', "
            "'MANNEQUIN' or 'NONE', got \"FRIEND\"",
        ),
        ("drafts", "no", 'config: github.pull_requests.drafts: must be true or false, got "no"'),
        ("bulid", True, "config: github.pull_requests.bulid: unknown key"),
    ],
)
def test_pull_request_rules_name_the_key(key: str, value: Any, expected: str) -> None:
    document = changed("github", {"token": "t", "webhook_secret": "s"})
    document["github"]["pull_requests"] = {key: value}
    assert message(document) == expected


def test_good_settings_load_with_defaults() -> None:
    settings = validate(GOOD)
    assert isinstance(settings, Settings)
    assert settings.buildmaster.web_port == 8010
    assert settings.tree_stable_timer == 5
    assert settings.projects[0].merge_into == "master"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("workers.count", 0, "config: workers.count: must be a whole number from 1 to 1000, got 0"),
        (
            "workers.count",
            "3",
            'config: workers.count: must be a whole number from 1 to 1000, got "3"',
        ),
        (
            "workers.kind",
            "kubernetes",
            "config: workers: kind must be one of 'local', 'static', 'ec2', 'docker', got \"kubernetes\"",
        ),
        ("workers.cuont", 2, "config: workers.cuont: unknown key"),
        (
            "projects.0.repository",
            REMOVE,
            "config: projects[0].repository: required key is missing",
        ),
        (
            "tree_stable_timer",
            "soon",
            'config: tree_stable_timer: must be a number of seconds from 0 to 86400, got "soon"',
        ),
        (
            "tree_stable_timer",
            -1,
            "config: tree_stable_timer: must be a number of seconds from 0 to 86400, got -1",
        ),
        (
            "buildmaster.web_port",
            70000,
            "config: buildmaster.web_port: must be a TCP port from 1 to 65535, got 70000",
        ),
        ("buildmaster.title", 7, "config: buildmaster.title: must be a string, got 7"),
        (
            "changes.interval",
            "cheap",
            'config: changes.interval: must be a positive number, got "cheap"',
        ),
        ("projects", [], "config: projects: must not be empty"),
        (
            "projects.0.never_cancel",
            "master",
            'config: projects[0].never_cancel: must be a list, got "master"',
        ),
        (
            "projects.0.builders.0.name",
            "two words",
            "config: projects[0].builders[0].name: must be letters, digits, '-', '_' or '.', got \"two words\"",
        ),
        (
            "projects.0.builders.0.steps.0.kind",
            "deploy",
            "config: projects[0].builders[0].steps[0]: kind must be one of 'run', 'test', 'lint', 'docs', 'upload', 'property', 'publish', got \"deploy\"",
        ),
        (
            "projects.0.builders.0.steps.0.command",
            [],
            "config: projects[0].builders[0].steps[0].command: must not be empty",
        ),
        (
            "projects.0.builders.0.steps.0.halt_on_failure",
            "yes",
            'config: projects[0].builders[0].steps[0].halt_on_failure: must be true or false, got "yes"',
        ),
        (
            "workers.password",
            REMOVE,
            "config: workers.password: required key is missing",
        ),
    ],
)
def test_each_mistake_gets_one_line_naming_the_key(path: str, value: Any, expected: str) -> None:
    assert message(changed(path, value)) == expected


def test_several_mistakes_report_the_first_and_count_the_rest() -> None:
    document = changed("workers.count", 0)
    document["tree_stable_timer"] = "x"
    assert message(document) == (
        "config: workers.count: must be a whole number from 1 to 1000, got 0 (and 1 more)"
    )


def test_admins_must_be_users() -> None:
    document = {**GOOD, "auth": {"users": {"alice": "pw"}, "admins": ["bob"]}}
    assert message(document) == 'config: auth: admin "bob" is not one of auth.users'


def test_builder_names_are_unique_across_projects() -> None:
    second = copy.deepcopy(GOOD["projects"][0]) | {"name": "other"}
    document = {**GOOD, "projects": [GOOD["projects"][0], second]}
    assert message(document) == 'config: projects: builder name "tests" is used twice'


def test_two_projects_of_one_repository_are_refused() -> None:
    first = GOOD["projects"][0] | {"repository": "https://github.com/ClusterHQ/flocker"}
    builders = [{**b, "name": f"other-{b['name']}"} for b in first["builders"]]
    second = first | {"name": "other", "builders": builders}
    second["repository"] = "git@github.com:clusterhq/Flocker.git"  # the same, written otherwise
    document = {**GOOD, "projects": [first, second]}
    assert message(document) == (
        'config: projects[1].repository: "git@github.com:clusterhq/Flocker.git" is '
        "projects[0]'s repository too; give each repository one project"
    )


def test_missing_workers_section_is_named() -> None:
    document = {k: v for k, v in GOOD.items() if k != "workers"}
    assert message(document) == "config: workers: required key is missing"


def test_line_breaks_in_keys_and_values_stay_on_one_line() -> None:
    assert (
        message({**GOOD, "auth": {"users": {}, "a\nb": 1}}) == 'config: auth."a\\nb": unknown key'
    )
    assert message(changed("workers.kind", "x\u2028y")) == (
        "config: workers: kind must be one of 'local', 'static', 'ec2', 'docker', got \"x\\u2028y\""
    )


def test_document_must_be_a_mapping() -> None:
    assert message([1]) == "config: BUILDBOT_CONFIG: must be a mapping of settings, got [1]"


def test_invalid_json_in_the_environment_names_the_variable() -> None:
    with pytest.raises(SettingsError) as raised:
        load({ENV_JSON: '{"oops"'})
    assert str(raised.value) == (
        "config: BUILDBOT_CONFIG: invalid JSON at line 1 column 8: Expecting ':' delimiter"
    )


def test_invalid_yaml_in_the_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("workers: [unclosed\n")
    with pytest.raises(SettingsError) as raised:
        load({ENV_FILE: str(path)})
    assert str(raised.value).startswith(f"config: {ENV_FILE} {path}: invalid YAML at line 2")


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    with pytest.raises(SettingsError) as raised:
        load({ENV_FILE: str(path)})
    assert str(raised.value) == f"config: {ENV_FILE} {path}: cannot read: No such file or directory"


def test_no_settings_at_all_says_what_to_set() -> None:
    with pytest.raises(SettingsError) as raised:
        load({})
    assert str(raised.value) == (
        "config: set BUILDBOT_CONFIG (JSON) or BUILDBOT_CONFIG_FILE (a JSON or YAML file)"
    )


def test_json_environment_wins_over_file_and_both_forms_load(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(changed("workers.count", 5)))
    assert [w.name for w in pools.build(load({ENV_FILE: str(path)}))][-1] == "worker-5"
    assert len(pools.build(load({ENV_JSON: json.dumps(GOOD), ENV_FILE: str(path)}))) == 2


def test_shipped_settings_files_are_valid() -> None:
    import yaml

    root = Path(__file__).resolve().parents[3]
    local = yaml.safe_load((root / "config.local.yml").read_text())
    local["workers"]["password"] = "filled in by make run"
    validate(local)


@pytest.mark.parametrize(
    ("buildmaster", "expected"),
    [
        (
            {"db_url": "mysql://bb:secret@db/bb"},
            'config: buildmaster.db_url: must be a database URL starting sqlite://, postgresql://, postgresql+psycopg2://, got "mysql"',
        ),
        (
            {"mq": {"router_url": "ws://127.0.0.1:8080/ws"}},
            "config: buildmaster: db_url must name a PostgreSQL server when mq joins masters together",
        ),
        (
            {"roles": ["web"]},
            "config: buildmaster: roles can leave something out only for a master with mq set",
        ),
        (
            {"roles": ["web", "cooking"]},
            "config: buildmaster.roles[1]: must be one of 'web', 'schedulers' or 'workers', got \"cooking\"",
        ),
        (
            {"db_url": "postgresql://db/bb", "mq": {"router_url": "http://x"}},
            'config: buildmaster.mq.router_url: must match ^wss?://, got "http://x"',
        ),
    ],
)
def test_cluster_settings_mistakes(buildmaster: dict[str, Any], expected: str) -> None:
    assert message({**GOOD, "buildmaster": buildmaster}) == expected
