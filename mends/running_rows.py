"""The row of a running build, step or log is read from memory on the master running it.

Replaces: ``getBuild``, ``getStep`` and ``getLog`` of Buildbot's database components
(``buildbot.db.builds``, ``.steps``, ``.logs``), and wraps each one's add and writes (see
:data:`TABLES`), which start and change what is kept.

Defect (a cost): each change of a build, a step or a log is written, then read back from
the database for its event: about seven reads of a build while it runs, five of each step
and three of each log, one statement each, some forty a build. No upstream issue yet.

Mend: a build, its steps and its logs are written only by the master running the build,
so the row of one this master added (the last :data:`MOST` of each kind) is kept as the
database holds it, changed as each write succeeds, and read from memory through
upstream's own conversion (a new object for each reader). A finished step or log is
kept for the rest of the reactor's turn, for its ``finished`` event, then forgotten (a
step's finish time is the second its finish was asked and answered in; one whose finish
spanned the turn of a second is forgotten at once); a finished build is forgotten at once
(another mend may change the results it is finished with), and so is a row whose write
fails. From then on, as for a row of another master's or one looked up some other way,
the database is read. A build's start time is the second its add was asked in: one whose
add spanned the turn of a second is not kept. Writes of others are not seen: the janitor
marking the logs of a step that has run longer than the log horizon as deleted, another
master finishing the builds of a master it took for dead; such a row is read from the
database again once its build, step or log finishes here.

Gain: see docs/mends.rst (``make bench BENCH_ARGS=--mends``, database statements per
build with this mend off).

Remove when: upstream keeps running builds, steps and logs (the canary
``test_upstream_reads_a_step_back_after_each_change`` then fails).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from buildbot.db.builds import BuildsConnectorComponent
from buildbot.db.logs import LogsConnectorComponent
from buildbot.db.steps import StepsConnectorComponent
from twisted.internet import defer

from mends.kept import Kept, state_of
from mends.wrapping import original, replace

Row = dict[str, Any]
"""A row's columns, as the database holds them."""
Change = Callable[..., "Row | None"]
"""The columns a write changes, from the kept row, the write's result, ``when`` (the second
the write was asked and answered in, None if the clock turned a second meanwhile) and its
arguments by name; None forgets the row."""


def _forget(row: Row, result: Any, **arguments: Any) -> None:
    return None


def _started(row: Row, result: Any, started_at: int, locks_acquired: bool, **_: Any) -> Row:
    if locks_acquired:
        return {"started_at": started_at, "locks_acquired_at": started_at}
    return {"started_at": started_at}


def _locks_acquired(row: Row, result: Any, locks_acquired_at: int, **_: Any) -> Row:
    return {"locks_acquired_at": locks_acquired_at}


def _state(row: Row, result: Any, state_string: str, **_: Any) -> Row:
    return {"state_string": state_string}


def _url(row: Row, result: Any, name: str, url: str, **_: Any) -> Row:
    urls = json.loads(row["urls_json"])
    if {"name": name, "url": url} not in urls:
        urls.append({"name": name, "url": url})
    return {"urls_json": json.dumps(urls)}


def _appended(row: Row, result: tuple[int, int] | None, **_: Any) -> Row | None:
    return None if result is None else {"num_lines": result[1] + 1}


def _step_finished(
    row: Row, result: Any, when: int | None, results: int, hidden: bool, **_: Any
) -> Row | None:
    if when is None:
        return None  # its finish time is the database's to say
    return {"complete_at": when, "results": int(results), "hidden": 1 if hidden else 0}


def _log_finished(row: Row, result: Any, **_: Any) -> Row:
    return {"complete": 1}


def _new_step(
    result: tuple[int, int, str], when: int | None, buildid: int, state_string: str, **_: Any
) -> Row:
    stepid, number, name = result
    return {
        "id": stepid,
        "number": number,
        "name": name,
        "buildid": buildid,
        "started_at": None,
        "locks_acquired_at": None,
        "complete_at": None,
        "state_string": state_string,
        "results": None,
        "urls_json": "[]",
        "hidden": False,
    }


def _new_log(logid: int, when: int | None, stepid: int, name: str, slug: str, type: str) -> Row:
    return {
        "id": logid,
        "name": name,
        "slug": slug,
        "stepid": stepid,
        "complete": 0,
        "num_lines": 0,
        "type": type,
    }


def _new_build(
    result: tuple[int, int],
    when: int | None,
    builderid: int,
    buildrequestid: int,
    workerid: int,
    masterid: int,
    state_string: str,
    **_: Any,
) -> Row | None:
    if when is None:
        return None  # its start time is the database's to say
    buildid, number = result
    return {
        "id": buildid,
        "number": number,
        "builderid": builderid,
        "buildrequestid": buildrequestid,
        "workerid": workerid,
        "masterid": masterid,
        "started_at": when,
        "complete_at": None,
        "locks_duration_s": 0,
        "state_string": state_string,
        "results": None,
    }


def _locks_waited(row: Row, result: Any, duration_s: int, **_: Any) -> Row:
    return {"locks_duration_s": row["locks_duration_s"] + duration_s}


@dataclass(frozen=True)
class Table:
    """A component whose rows are kept: its read by id, its add and its writes."""

    component: type
    read: str
    add: str
    new_row: Callable[..., Row | None]
    """The row an add made (None: not known), from its result, the whole second it was
    asked in (None if the clock turned a second during the call), and its arguments by
    name."""
    key: str
    """The name of the id among the writes' arguments."""
    changes: dict[str, Change]
    finish: str = ""
    """The write after which the row is kept only for the rest of the reactor's turn."""


TABLES = (
    Table(
        StepsConnectorComponent,
        read="getStep",
        add="addStep",
        new_row=_new_step,
        key="stepid",
        changes={
            "startStep": _started,
            "set_step_locks_acquired_at": _locks_acquired,
            "setStepStateString": _state,
            "addURL": _url,
            "finishStep": _step_finished,
        },
        finish="finishStep",
    ),
    Table(
        LogsConnectorComponent,
        read="getLog",
        add="addLog",
        new_row=_new_log,
        key="logid",
        changes={"appendLog": _appended, "finishLog": _log_finished},
        finish="finishLog",
    ),
    Table(
        BuildsConnectorComponent,
        read="getBuild",
        add="addBuild",
        new_row=_new_build,
        key="buildid",
        changes={
            "setBuildStateString": _state,
            "add_build_locks_duration": _locks_waited,
            "finishBuild": _forget,
        },
    ),
)
"""Whose rows are kept."""

TARGETS = tuple(
    f"{table.component.__module__}:{table.component.__name__}.{name}"
    for table in TABLES
    for name in (table.read, table.add, "_model_from_row", *table.changes)
)

MOST = 2000
"""Rows kept of each component, the latest added."""
KEPT = "_mend_kept_rows"
"""A component's kept rows: id -> :data:`Row`."""


def _kept(component: Any) -> Kept[int, Row]:
    return state_of(component, KEPT, lambda: Kept[int, Row](MOST))


def _from_memory(upstream: Any) -> Any:
    def read(self: Any, *args: Any, **kwargs: Any) -> Any:
        row = _kept(self).used(args[0]) if len(args) == 1 and not kwargs else None
        if row is None:
            return upstream(self, *args, **kwargs)
        return defer.succeed(self._model_from_row(SimpleNamespace(**row)))

    return read


def _naming(upstream: Any) -> Callable[..., dict[str, Any]]:
    """What names a call's arguments as Buildbot names them (another mend's wrapper around
    Buildbot's may take any), without ``self``."""
    signature = inspect.signature(original(upstream))

    def arguments(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        named = bound.arguments
        del named[next(iter(named))]
        return named

    return arguments


def _keeping_new(table: Table) -> Any:
    def wrap(upstream: Any) -> Any:
        naming = _naming(upstream)

        @defer.inlineCallbacks
        def add(self: Any, *args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            arguments = naming(self, *args, **kwargs)
            before = int(self.master.reactor.seconds())
            adding = upstream(self, *args, **kwargs)  # upstream reads the clock here
            when = before if int(self.master.reactor.seconds()) == before else None
            result = yield adding
            row = table.new_row(result, when, **arguments)
            if row is not None:
                _kept(self).put(row["id"], row)
            return result

        return add

    return wrap


def _changing(table: Table, name: str, change: Change) -> Any:
    def wrap(upstream: Any) -> Any:
        naming = _naming(upstream)

        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            arguments = naming(self, *args, **kwargs)
            key = arguments.pop(table.key)
            clock = self.master.reactor
            asked = int(clock.seconds())

            def written(result: Any) -> Any:
                kept = _kept(self)
                row = kept.get(key)
                if row is not None:
                    when = asked if int(clock.seconds()) == asked else None
                    try:
                        new = change(row, result, when=when, **arguments)
                    except Exception:  # a write this mend cannot follow: read it back
                        new = None
                    if new is None:
                        del kept[key]
                    else:
                        row.update(new)
                        if name == table.finish:  # kept for its event, in this turn
                            clock.callLater(0, kept.pop, key, None)
                return result

            def failed(failure: Any) -> Any:
                _kept(self).pop(key, None)
                return failure

            return upstream(self, *args, **kwargs).addCallbacks(written, failed)

        return write

    return wrap


def install() -> None:
    for table in TABLES:
        replace(table.component, table.read, _from_memory)
        replace(table.component, table.add, _keeping_new(table))
        for name, change in table.changes.items():
            replace(table.component, name, _changing(table, name, change))
