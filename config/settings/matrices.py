"""Matrices: one builder definition expanded over axes into one builder per combination.

``matrix: {dist: [ubuntu-24.04, fedora-41], provider: [aws]}`` on a builder ``accept``
makes ``accept-ubuntu-24.04-aws`` and ``accept-fedora-41-aws``: the name, then each
axis's value in the order the axes are written. Each has its axes as build properties
(``dist``, ``provider``); ``pools_from: dist`` runs each on the pool its ``dist`` names.
A ``then`` naming a matrix builder triggers its combinations that agree with the
triggering builder on the axes both have (all of them when they share none).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Protocol

from config.settings.pipelines import graph_error
from config.settings.values import show


class Expandable(Protocol):
    """What expansion reads of a builder (:class:`config.settings.recipes.Builder`)."""

    name: str
    matrix: dict[str, list[str]] | None
    pools_from: str | None
    properties: dict[str, str]
    then: list[str]

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any: ...


def combinations(matrix: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of the axes' values, the first axis varying slowest."""
    axes = list(matrix)
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*matrix.values())]


def combination_name(name: str, axes: dict[str, str]) -> str:
    return "-".join([name, *axes.values()])


def check_pools_from(key: str, builder: Expandable) -> None:
    """``pools_from`` names one of the builder's axes."""
    if builder.pools_from is not None and builder.pools_from not in (builder.matrix or {}):
        raise graph_error(
            f"{key}.pools_from",
            "{axis} is not an axis of its matrix",
            axis=show(builder.pools_from),
        )


def expand(builders: Sequence[Expandable]) -> tuple[list[Any], list[int]]:
    """The builders with each matrix expanded, and for each the index of the builder it
    came from (for error messages)."""
    made: list[tuple[Expandable, dict[str, str], int]] = []
    for index, builder in enumerate(builders):
        check_pools_from(f"builders[{index}]", builder)
        for axes in combinations(builder.matrix) if builder.matrix else [{}]:
            made.append((builder, axes, index))
    of_base = {
        builder.name: [
            (combination_name(builder.name, axes), axes) for axes in combinations(builder.matrix)
        ]
        for builder in builders
        if builder.matrix
    }

    def targets(name: str, axes: dict[str, str]) -> list[str]:
        if name not in of_base:
            return [name]
        return [
            made_name
            for made_name, theirs in of_base[name]
            if all(theirs[axis] == value for axis, value in axes.items() if axis in theirs)
        ]

    expanded = []
    for builder, axes, _ in made:
        update: dict[str, Any] = {"then": [t for name in builder.then for t in targets(name, axes)]}
        if builder.matrix:
            update |= {
                "name": combination_name(builder.name, axes),
                "properties": {**builder.properties, **axes},
            }
            if builder.pools_from is not None:
                update["pools"] = [axes[builder.pools_from]]
        expanded.append(builder.model_copy(update=update))
    return expanded, [index for _, _, index in made]


def check_matrix_pools(key: str, builder: Expandable, pools: Sequence[str]) -> None:
    """An expanded builder's ``pools_from`` value names a pool (``key``: its project)."""
    if builder.matrix is None or builder.pools_from is None:
        return
    axes = {axis: builder.properties[axis] for axis in builder.matrix}
    value = axes[builder.pools_from]
    if value not in pools:
        base = builder.name[: len(builder.name) - len(combination_name("", axes))]
        raise graph_error(
            f"{key}.builders ({base}).matrix.{builder.pools_from}",
            "{value} names no pool in workers (it is the axis of pools_from)",
            value=show(value),
        )
