"""The version guard: the mends run only on the Buildbot they were verified on.

Each mend lists in ``TARGETS`` every upstream function (or shipped file) it replaces or
relies on. This module records the Buildbot versions the mends were verified on and a
fingerprint of each target's source; at every configuration load, before a mend is
installed, both are compared with what is installed, and any difference refuses the
configuration in one line saying what differs and what to do. ``buildbot checkconfig``
and a starting master print it and exit non-zero.

Only Buildbot's own packages are held to a version: the mends replace Buildbot's code,
never Twisted's or SQLAlchemy's, so a security release of either (which cannot change a
fingerprint) starts the master as before. Whatever of theirs a mend calls is covered by
its tests and canaries, which ``make test`` runs on every upgrade.

After an upgrade, re-verify each mend against the new source (does the defect remain?
does the mend still fit?), then print the new record with ``python -m mends.guard`` and
paste it below.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
import textwrap
from collections.abc import Iterable
from importlib import metadata, resources
from typing import Any

from buildbot.config.errors import ConfigErrors

from mends import NAMES, module
from mends.wrapping import upstream

VERIFIED = {
    "buildbot": "4.3.0",
    "buildbot-worker": "4.3.0",
    "buildbot-www": "4.3.0",
}

# Made by `python -m mends.guard`.
FINGERPRINTS = {
    "buildbot.www.rest:V2RootResource._write_json_data": "1f4c4ca1b0a5f444",
    "buildbot.schedulers.basic:BaseBasicScheduler.stableTimerFired": "8d812f82bfbb7144",
    "buildbot.schedulers.basic:BaseBasicScheduler.gotChange": "3b9c00d8b7a45f7b",
    "buildbot.schedulers.basic:BaseBasicScheduler.__init__": "3afccd84b3a0c853",
    "buildbot.db.schedulers:SchedulersConnectorComponent.flushChangeClassifications": "599b07684a1266a5",
    "buildbot.worker.latent:AbstractLatentWorker.attached": "16e8292a8e40fbcd",
    "buildbot.worker.latent:AbstractLatentWorker._setBuildWaitTimer": "5168d775f8cf7d05",
    "buildbot.worker.latent:AbstractLatentWorker._soft_disconnect": "d8894aeb098191a8",
    "buildbot.worker.protocols.pb:Listener.before_connection_setup": "bdd7e12a879be1bb",
    "buildbot_worker.pb:BotFactory.gotPerspective": "fb46a8d136406ef1",
    "buildbot.process.botmaster:BotMaster._flush_pending_builders": "411a7b48152e2891",
    "buildbot.www.service:WWWService.setupSite": "88660f4280ae92a2",
    "buildbot_www:static/assets/index-D1Qujclx.js": "d68b5c61d3418480",
    "buildbot.process.log:Log.addRawLines": "14adfb4d8e6cf2d6",
    "buildbot.process.log:Log.finish": "bfe6f3c1588afc97",
    "buildbot.process.log:StreamLog.finish": "963c17b6b1ded16e",
    "buildbot.process.log:PlainLog.finish": "963c17b6b1ded16e",
    "buildbot.process.remotecommand:RemoteCommand.remoteComplete": "a3f921ab5625544e",
    "buildbot.db.builders:BuildersConnectorComponent.getBuilder": "74520df9ce65a31c",
    "buildbot.db.builders:BuildersConnectorComponent.updateBuilderInfo": "7779e3b4b739150d",
    "buildbot.db.builders:BuildersConnectorComponent.addBuilderMaster": "569565f9a085041e",
    "buildbot.db.builders:BuildersConnectorComponent.removeBuilderMaster": "db693918253b4e06",
    "buildbot.db.builds:BuildsConnectorComponent.setBuildProperty": "9e21479b5c4f2fdf",
    "buildbot.db.builds:BuildsConnectorComponent.getBuildProperties": "dd2b610467c17941",
    "buildbot.db.builds:BuildsConnectorComponent.addBuild": "0c7506568e87a6ce",
    "buildbot.data.properties:Properties.setBuildProperties": "9a63e94e457d5589",
    "buildbot.process.build:Build.startBuild": "8c23aeeb597d0367",
    "buildbot.process.build:Build._start_next_step_impl": "38927344997ecd24",
    "buildbot.db.steps:StepsConnectorComponent.getStep": "b99100bf80e3ce99",
    "buildbot.db.steps:StepsConnectorComponent.addStep": "6f91540ff633758f",
    "buildbot.db.steps:StepsConnectorComponent._model_from_row": "a8575c78803b885f",
    "buildbot.db.steps:StepsConnectorComponent.startStep": "e15f03e1e5277c27",
    "buildbot.db.steps:StepsConnectorComponent.set_step_locks_acquired_at": "4e2e9063c5e8f11e",
    "buildbot.db.steps:StepsConnectorComponent.setStepStateString": "84e205d41848a7ae",
    "buildbot.db.steps:StepsConnectorComponent.addURL": "097fe39859bcd942",
    "buildbot.db.steps:StepsConnectorComponent.finishStep": "0dc4e831182f5fd6",
    "buildbot.db.logs:LogsConnectorComponent.getLog": "eaa10b52188dc7e8",
    "buildbot.db.logs:LogsConnectorComponent.addLog": "5a71ec8d94347923",
    "buildbot.db.logs:LogsConnectorComponent._model_from_row": "700fe780efa051c6",
    "buildbot.db.logs:LogsConnectorComponent.appendLog": "d536beab3308ef96",
    "buildbot.db.logs:LogsConnectorComponent.finishLog": "d0d6e8ecf4703566",
    "buildbot.db.builds:BuildsConnectorComponent.getBuild": "350cddfe8b4b29ca",
    "buildbot.db.builds:BuildsConnectorComponent._model_from_row": "5842454510bab586",
    "buildbot.db.builds:BuildsConnectorComponent.setBuildStateString": "ecd758ddb47ca51b",
    "buildbot.db.builds:BuildsConnectorComponent.add_build_locks_duration": "2480bfe29357031d",
    "buildbot.db.builds:BuildsConnectorComponent.finishBuild": "0cd237bb52d9de56",
    "buildbot.process.build:Build.stepDone": "1a6ff7d43d990616",
    "buildbot.util.pathmatch:Matcher.__getitem__": "95b0403e0d7e1f1e",
    "buildbot.util.pathmatch:Matcher.__setitem__": "b07370968f545984",
    "buildbot.util.pathmatch:Matcher._compile": "f146054ebed9c0c7",
    "buildbot.process.properties:Properties.render": "c400be590850aaf6",
    "buildbot.process.properties:_DefaultRenderer": "fc7d7989d48da8c1",
    "buildbot.process.properties:_ListRenderer": "a57e73f92393fc92",
    "buildbot.process.properties:_TupleRenderer": "890078e5f7d0015c",
    "buildbot.process.properties:_DictRenderer": "0becd374dbe00178",
    "buildbot.db.buildsets:BuildsetsConnectorComponent.getBuildset": "7cb561983bccbfb9",
    "buildbot.db.buildsets:BuildsetsConnectorComponent._thd_model_from_row": "5ca4d1a96ea2121f",
    "buildbot.db.buildsets:BuildsetsConnectorComponent.completeBuildset": "9fc4f28cd5fc5a4f",
    "buildbot.db.buildsets:BuildSetModel": "700e62a3bdf776a6",
}

SWITCH = "set buildmaster.mends: false to run stock Buildbot"


class MendsRefused(ConfigErrors):
    """The installed Buildbot is not the one the mends were verified on; ``str()`` is
    the one line."""

    def __init__(self, message: str) -> None:
        super().__init__([message])


def resolve(target: str) -> Any:
    """Upstream's object for ``module:Qualified.name``, as Buildbot ships it."""
    module_name, _, qualified = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = qualified.split(".")
    for part in path:
        owner = getattr(owner, part)
    return upstream(owner, name)


def source(target: str) -> str:
    """The source text of a target, undecorated where a decorator hides it; a target
    ``package:path/to/file`` is a file the package ships (the web UI's script bundle)."""
    package, _, path = target.partition(":")
    if "/" in path:
        return (resources.files(package) / path).read_text()
    found = resolve(target)
    found = getattr(found, "__func__", found)  # a staticmethod
    found = getattr(found, "fn", found)  # a debounced method
    return textwrap.dedent(inspect.getsource(inspect.unwrap(found)))


def fingerprint(target: str) -> str:
    return hashlib.sha256(source(target).encode()).hexdigest()[:16]


def targets(names: Iterable[str]) -> list[str]:
    """Every target of the mends ``names``, in order, once."""
    found: dict[str, None] = {}
    for name in names:
        found.update(dict.fromkeys(module(name).TARGETS))
    return list(found)


def problem(names: Iterable[str]) -> str | None:
    """The first difference between what is installed and what was verified, or None."""
    for package, verified in VERIFIED.items():
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            installed = "none"
        if installed != verified:
            return (
                f"mends: verified on {package} {verified}, but {installed} is installed; "
                f"re-verify them (mends/guard.py says how) or {SWITCH}"
            )
    for target in targets(names):
        try:
            found = fingerprint(target)
        except (ImportError, AttributeError, KeyError, OSError, TypeError):
            return f"mends: {target} is gone from this Buildbot; {SWITCH}"
        if found != FINGERPRINTS.get(target):
            return (
                f"mends: {target} is not the code the mends were verified on; "
                f"re-verify them (mends/guard.py says how) or {SWITCH}"
            )
    return None


def check(names: Iterable[str]) -> None:
    """Refuse the configuration if the mends ``names`` do not fit what is installed."""
    found = problem(names)
    if found is not None:
        raise MendsRefused(found)


def record() -> str:
    """The ``FINGERPRINTS`` table for what is installed now, as Python."""
    lines = [f"    {target!r}: {fingerprint(target)!r}," for target in targets(NAMES)]
    return "FINGERPRINTS = {\n" + "\n".join(lines) + "\n}"


if __name__ == "__main__":
    print(record())
    sys.exit(0)
