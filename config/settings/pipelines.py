"""What makes a project's builders a pipeline: counted locks, the locks a builder or step
takes, and the checks of the trigger graph (``then``) when the settings load.

The graph is checked the way WebKit's EWS checks its ``config.json``: every builder a
``then`` names exists and runs only when triggered, every builder that runs only when
triggered is named by some ``then``, and no builder triggers itself through others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from config.settings.values import Count, Name, Section, show


def _counted(value: Any) -> Any:
    """``aws-account: 3`` is short for ``aws-account: {count: 3}``."""
    return {"count": value} if isinstance(value, int) and not isinstance(value, bool) else value


class Lock(Section):
    """A counted lock: at most ``count`` holders at once, on the whole master or on each
    worker."""

    count: Count
    per: Literal["master", "worker"] = "master"


CountedLock = Annotated[Lock, BeforeValidator(_counted)]


def _named(value: Any) -> Any:
    """``aws-account`` is short for ``{name: aws-account}``."""
    return {"name": value} if isinstance(value, str) else value


class LockUse(Section):
    """A lock taken by a builder (for the whole build) or by one step: ``counting`` takes
    one of its ``count`` places, ``exclusive`` all of them."""

    name: Name
    access: Literal["counting", "exclusive"] = "counting"


TakenLock = Annotated[LockUse, BeforeValidator(_named)]


def graph_error(key: str, message: str, **values: Any) -> PydanticCustomError:
    return PydanticCustomError("pipeline", key + ": " + message, values)


def check_triggers(
    keys: Sequence[str],
    names: Sequence[str],
    then: Sequence[Sequence[str]],
    triggered: Sequence[bool],
) -> None:
    """A project's trigger graph: builder ``i`` (written at ``keys[i]``) is ``names[i]``,
    triggers ``then[i]`` and runs only when triggered if ``triggered[i]``; raises the
    first problem found."""
    index = {name: i for i, name in enumerate(names)}
    named_by: set[str] = set()
    for i, targets in enumerate(then):
        for target in targets:
            key = f"{keys[i]}.then"
            if target not in index:
                raise graph_error(key, "no builder named {name} in this project", name=show(target))
            if not triggered[index[target]]:
                raise graph_error(
                    key,
                    "{name} runs on every push: give it triggered: true to run it only when "
                    "triggered",
                    name=show(target),
                )
            named_by.add(target)
    for i, name in enumerate(names):
        if triggered[i] and name not in named_by:
            raise graph_error(
                f"{keys[i]}.triggered",
                "no builder's then names {name}, so it would never run",
                name=show(name),
            )
    if cycle := find_cycle({name: then[i] for i, name in enumerate(names)}):
        raise graph_error(
            f"{keys[index[cycle[0]]]}.then",
            "builders trigger each other in a cycle: {cycle}",
            cycle=" -> ".join(cycle),
        )


def find_cycle(then: Mapping[str, Sequence[str]]) -> list[str]:
    """A cycle of the graph (its names, the first repeated at the end), or []."""
    done: set[str] = set()
    for start in then:
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, next_edge = stack.pop()
            if next_edge == 0:
                if node in on_path:
                    return [*path[path.index(node) :], node]
                if node in done:
                    continue
                path.append(node)
                on_path.add(node)
            edges = then.get(node, ())
            if next_edge < len(edges):
                stack += [(node, next_edge + 1), (edges[next_edge], 0)]
            else:
                done.add(node)
                on_path.discard(path.pop())
    return []


def check_locks(defined: Sequence[str], taken: Mapping[str, Sequence[str]]) -> None:
    """Every lock taken (by key: the names taken there) is defined, and every lock
    defined is taken somewhere."""
    for key, names in taken.items():
        for name in names:
            if name not in defined:
                raise graph_error(key, "no lock named {name} in locks", name=show(name))
    used = {name for names in taken.values() for name in names}
    for name in defined:
        if name not in used:
            raise graph_error("locks", "{name} is taken by no builder or step", name=show(name))
