"""Settings fuzz: mutated settings documents are either good or refused in one line naming a key.

Each document is config.yml.example with one to three mutations (wrong types, missing and
unknown keys, huge and empty values, unicode, broken recipes). Each goes through Buildbot's
own checkconfig code on a real master directory made by ``buildbot create-master`` over our
master.cfg, in-process (500 subprocesses would take minutes); a few go through the real
``buildbot checkconfig`` command too, which must agree.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from buildbot.scripts.checkconfig import _loadConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.settings import ENV_FILE, ENV_JSON, Settings, SettingsError, validate
from local.cluster import CHECKOUT, MASTER_CFG
from tests.conftest import Summary
from tests.integration import test_checkconfig

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
EXAMPLES = 150
BASE: dict[str, Any] = yaml.safe_load((CHECKOUT / "config.yml.example").read_text())
# `config: <key>[<n>].<key>...: <problem>`, the key path starting at a settings section
# (or naming the variable itself when the document is not a mapping at all), or the
# unknown key itself.
SECTIONS = "|".join([*Settings.model_fields, ENV_JSON])
NAMES_A_KEY = re.compile(rf"^config: (({SECTIONS})([.\[].*)?: \S|.+: unknown key$)")

Path_ = tuple[str | int, ...]


def paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every key path in a document, containers included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


ALL_PATHS = sorted(paths(BASE), key=str)

huge = st.sampled_from(["x" * 100_000, "é" * 5000, 10**40, -(10**40), 1e308])
empty: st.SearchStrategy[Any] = st.sampled_from(["", [], {}, None, 0, " ", "\n"])
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8),
)
values = st.one_of(
    scalars,
    huge,
    empty,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=8), scalars, max_size=3),
)
bad_steps = st.one_of(
    st.fixed_dictionaries({"kind": st.text(max_size=10)}),
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["run", "test", "lint", "docs", "upload"])},
        optional={
            "command": values,
            "name": values,
            "env": values,
            "timeout": values,
            "runner": values,
            "source": values,
            "workdir": values,
        },
    ),
    values,
)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(ALL_PATHS))
        try:
            parent: Any = document  # a dict or list, indexed by the path's keys
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]]  # still there after the earlier mutations?
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):
            continue
        key: Any = path[-1]
        action = draw(st.sampled_from(["replace", "remove", "unknown", "step"]))
        if action == "replace":
            parent[key] = draw(values)
        elif action == "remove":
            del parent[key]
        elif action == "unknown" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(values)
        elif action == "step":
            builder = draw(st.sampled_from(document.get("projects") or [{}]))
            if isinstance(builder, dict) and isinstance(builder.get("builders"), list):
                for target in builder["builders"][:1]:
                    if isinstance(target, dict):
                        target["steps"] = [*target.get("steps", [])[:1], draw(bad_steps)]
    return document


# A master directory made by `buildbot create-master` over our master.cfg.
master_dir = test_checkconfig.master_dir


@contextlib.contextmanager
def settings_in_env(document: Any) -> Iterator[str]:
    saved = {k: os.environ.pop(k) for k in (ENV_JSON, ENV_FILE) if k in os.environ}
    os.environ[ENV_JSON] = text = json.dumps(document)
    try:
        yield text
    finally:
        del os.environ[ENV_JSON]
        os.environ.update(saved)


def checkconfig_in_process(master_dir: Path, document: Any) -> tuple[int, str, str]:
    """Buildbot's checkconfig code on ``document``: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with (
        settings_in_env(document),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = _loadConfig(str(master_dir), str(MASTER_CFG), quiet=False)
    return code, out.getvalue(), err.getvalue()


def checkconfig_command(master_dir: Path, document: Any) -> tuple[int, str, str]:
    done = test_checkconfig.checkconfig(master_dir, **{ENV_JSON: json.dumps(document)})
    return done.returncode, done.stdout, done.stderr


def verdict(document: Any, code: int, out: str, err: str) -> str | None:
    """Which rule an outcome breaks, or None: "valid" or "refused" otherwise."""
    try:
        validate(document)
        valid = True
    except SettingsError:
        valid = False
    if "Traceback" in out + err or "error while parsing config file" in err:
        return f"a traceback or crash:\n{err}"
    if valid:
        return None if code == 0 and "Config file is good!" in out else f"good one refused: {err}"
    if code == 0:
        return "an invalid document passed"
    errors = [line[2:] for line in err.split("\n") if line.startswith("  ")]
    if len(errors) != 1 or not NAMES_A_KEY.match(errors[0]):
        return f"not one line naming a key: {err!r}"
    return None


def test_mutated_settings_are_good_or_refused_naming_a_key(
    master_dir: Path, summary: Summary
) -> None:
    outcomes: list[tuple[Any, int, str, str]] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(mutated())
    def check(document: dict[str, Any]) -> None:
        code, out, err = checkconfig_in_process(master_dir, document)
        broken = verdict(document, code, out, err)
        assert broken is None, f"{broken}\nsettings: {json.dumps(document)[:2000]}"
        outcomes.append((document, code, out, err))

    check()

    refused = [o for o in outcomes if o[1] != 0]
    assert len(outcomes) >= EXAMPLES
    assert len(refused) > EXAMPLES // 2, "the mutations should mostly break the settings"
    assert len(outcomes) - len(refused) > 0, "some mutations should leave the settings good"
    summary("settings fuzz", tries=len(outcomes), refused=len(refused), lost=0)

    # The real command agrees with the in-process run on a sample of both outcomes.
    sample = refused[:: max(1, len(refused) // 4)][:4] + [o for o in outcomes if o[1] == 0][:1]
    for document, code, _, err in sample:
        if len(json.dumps(document)) > 60_000:
            continue  # an environment variable this big does not reach a process
        real_code, real_out, real_err = checkconfig_command(master_dir, document)
        assert verdict(document, real_code, real_out, real_err) is None
        assert real_code == code
        assert [line for line in real_err.splitlines() if line.startswith("  ")] == [
            line for line in err.splitlines() if line.startswith("  ")
        ]
