"""The operators: each adds a named step to a dataflow and returns the
stream(s) it makes. Names and signatures are Bytewax's (0.19–0.21)."""

import sys
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Optional, Tuple, TypeVar

from eddy.dataflow import Dataflow, Stream
from eddy.inputs import _kind as _input_kind
from eddy.outputs import DynamicSink
from eddy.testing import TestingSource

X = TypeVar("X")
Y = TypeVar("Y")
V = TypeVar("V")
W = TypeVar("W")
S = TypeVar("S")


def input(step_id: str, flow: Dataflow, source: Any) -> Stream[Any]:  # noqa: A001 - Bytewax's name
    """Reads ``source``: a :class:`~eddy.testing.TestingSource`, or a
    Python-written :class:`~eddy.inputs.FixedPartitionedSource` or
    :class:`~eddy.inputs.DynamicSource`."""
    if isinstance(source, TestingSource):
        return flow._add("input", step_id, [], [source.ib], 1)[0]
    kind = _input_kind(source)
    if kind is not None:
        return flow._add(kind, step_id, [], [source], 1)[0]
    raise TypeError(
        f"input {step_id!r}: eddy reads TestingSource, FixedPartitionedSource and DynamicSource "
        f"inputs; got {type(source).__name__}"
    )


def output(step_id: str, up: Stream[X], sink: Any) -> None:
    """Writes every item of ``up`` to ``sink``: a
    :class:`~eddy.testing.TestingSink` or
    :class:`~eddy.connectors.stdio.StdOutSink` (one writer, the run's
    order), or a Python-written :class:`~eddy.outputs.DynamicSink` (a
    writer per worker)."""
    if isinstance(sink, DynamicSink):
        up.flow._add("output_dynamic", step_id, [up], [sink], 0)
        return
    write = getattr(sink, "_write", None)
    if write is None:
        raise TypeError(
            f"output {step_id!r}: eddy writes to TestingSink, StdOutSink and DynamicSink; "
            f"got {type(sink).__name__}"
        )
    up.flow._add("output", step_id, [up], [write], 0)


def map(step_id: str, up: Stream[X], mapper: Callable[[X], Y]) -> Stream[Y]:  # noqa: A001
    """``mapper(item)`` for each item."""
    return up.flow._add("map", step_id, [up], [mapper], 1)[0]


def filter(step_id: str, up: Stream[X], predicate: Callable[[X], bool]) -> Stream[X]:  # noqa: A001
    """The items for which ``predicate(item)`` is true."""
    return up.flow._add("filter", step_id, [up], [predicate], 1)[0]


def flat_map(step_id: str, up: Stream[X], mapper: Callable[[X], Iterable[Y]]) -> Stream[Y]:
    """Every item of ``mapper(item)``, for each item."""
    return up.flow._add("flat_map", step_id, [up], [mapper], 1)[0]


def filter_map(step_id: str, up: Stream[X], mapper: Callable[[X], Optional[Y]]) -> Stream[Y]:
    """``mapper(item)`` for each item, without the ``None`` results."""

    def shim(item: X) -> Iterable[Y]:
        y = mapper(item)
        return () if y is None else (y,)

    return flat_map(step_id, up, shim)


def flatten(step_id: str, up: Stream[Iterable[X]]) -> Stream[X]:
    """Every element of each (iterable) item."""
    return flat_map(step_id, up, lambda xs: xs)


def _default_inspector(step_id: str, item: Any) -> None:
    # One write per line (print writes the line and its end apart): the
    # lines of two workers never mix.
    sys.stdout.write(f"{step_id}: {item!r}\n")
    sys.stdout.flush()


def inspect(
    step_id: str, up: Stream[X], inspector: Callable[[str, X], None] = _default_inspector
) -> Stream[X]:
    """Calls ``inspector(step_id, item)`` for each item (by default, prints
    ``step_id: repr(item)``), passing the items on unchanged. The step id
    given to ``inspector`` is the full one, ``flow_id.step_id``."""
    full = f"{up.flow.flow_id}.{step_id}"
    return up.flow._add("inspect", step_id, [up], [lambda item: inspector(full, item)], 1)[0]


def merge(step_id: str, *ups: Stream[Any]) -> Stream[Any]:
    """The items of every stream of ``ups``, as one stream."""
    if not ups:
        raise ValueError(f"merge {step_id!r} needs at least one stream")
    return ups[0].flow._add("merge", step_id, list(ups), [], 1)[0]


def key_on(step_id: str, up: Stream[X], key: Callable[[X], str]) -> Stream[Tuple[str, X]]:
    """``(key(item), item)`` for each item: a keyed stream. Keys are
    ``str``; another type stops the run, naming it."""

    def shim(item: X) -> Tuple[str, X]:
        k = key(item)
        if not isinstance(k, str):
            raise TypeError(f"key_on {step_id!r}: a key must be a str, got {k!r}")
        return (k, item)

    return map(step_id, up, shim)


def key_rm(step_id: str, up: Stream[Tuple[str, V]]) -> Stream[V]:
    """The values of a keyed stream, without their keys."""
    return map(step_id, up, lambda kv: kv[1])


def map_value(step_id: str, up: Stream[Tuple[str, V]], mapper: Callable[[V], W]) -> Stream[Tuple[str, W]]:
    """``(key, mapper(value))`` for each item of a keyed stream."""
    return map(step_id, up, lambda kv: (kv[0], mapper(kv[1])))


def filter_value(
    step_id: str, up: Stream[Tuple[str, V]], predicate: Callable[[V], bool]
) -> Stream[Tuple[str, V]]:
    """The items of a keyed stream whose value satisfies ``predicate``."""
    return filter(step_id, up, lambda kv: predicate(kv[1]))


def flat_map_value(
    step_id: str, up: Stream[Tuple[str, V]], mapper: Callable[[V], Iterable[W]]
) -> Stream[Tuple[str, W]]:
    """``(key, w)`` for every ``w`` of ``mapper(value)``."""
    return flat_map(step_id, up, lambda kv: ((kv[0], w) for w in mapper(kv[1])))


def stateful_map(
    step_id: str,
    up: Stream[Tuple[str, V]],
    mapper: Callable[[Optional[S], V], Tuple[Optional[S], W]],
) -> Stream[Tuple[str, W]]:
    """For each ``(key, value)``: ``(state, w) = mapper(state, value)``,
    emits ``(key, w)``; the state of each key starts as ``None`` and is
    dropped when ``mapper`` returns ``None`` for it. Each key's values
    reach ``mapper`` in order, on one worker."""
    return up.flow._add("stateful_map", step_id, [up], [mapper], 1)[0]


@dataclass(frozen=True)
class BranchOut(Generic[X]):
    """The two streams of :func:`branch`."""

    trues: Stream[X]
    falses: Stream[X]


def branch(step_id: str, up: Stream[X], predicate: Callable[[X], bool]) -> BranchOut[X]:
    """Splits ``up``: the items for which ``predicate(item)`` is true go to
    ``trues``, the others to ``falses`` (one call per item)."""
    trues, falses = up.flow._add("branch", step_id, [up], [predicate], 2)
    return BranchOut(trues, falses)


def fold_final(
    step_id: str,
    up: Stream[Tuple[str, V]],
    builder: Callable[[], S],
    folder: Callable[[S, V], S],
) -> Stream[Tuple[str, S]]:
    """Folds each key's values, in order, into ``builder()`` with
    ``folder(acc, value)``; emits ``(key, acc)`` once, at the end of the
    input (a bounded input: an input that never ends never emits)."""
    return up.flow._add("fold_final", step_id, [up], [builder, folder], 1)[0]


def reduce_final(step_id: str, up: Stream[Tuple[str, V]], reducer: Callable[[V, V], V]) -> Stream[Tuple[str, V]]:
    """``reducer(a, b)`` over each key's values, emitted at the end."""
    return fold_final(step_id, up, _Empty, lambda acc, v: v if isinstance(acc, _Empty) else reducer(acc, v))


class _Empty:
    """No value yet: a reduction's start (told apart by type, so that it
    survives pickling)."""


def count_final(step_id: str, up: Stream[X], key: Callable[[X], str]) -> Stream[Tuple[str, int]]:
    """How many items have each ``key(item)``, emitted at the end."""
    keyed = key_on(f"{step_id}_key", up, key)
    return fold_final(step_id, keyed, lambda: 0, lambda n, _v: n + 1)


def max_final(
    step_id: str, up: Stream[Tuple[str, V]], by: Optional[Callable[[V], Any]] = None
) -> Stream[Tuple[str, V]]:
    """Each key's largest value (by ``by(value)``; the first of equals)."""
    key = by or (lambda v: v)
    return reduce_final(step_id, up, lambda a, b: b if key(b) > key(a) else a)


def min_final(
    step_id: str, up: Stream[Tuple[str, V]], by: Optional[Callable[[V], Any]] = None
) -> Stream[Tuple[str, V]]:
    """Each key's smallest value (by ``by(value)``; the first of equals)."""
    key = by or (lambda v: v)
    return reduce_final(step_id, up, lambda a, b: b if key(b) < key(a) else a)


__all__ = [
    "input",
    "output",
    "map",
    "filter",
    "flat_map",
    "filter_map",
    "flatten",
    "inspect",
    "merge",
    "key_on",
    "key_rm",
    "map_value",
    "filter_value",
    "flat_map_value",
    "stateful_map",
    "BranchOut",
    "branch",
    "fold_final",
    "reduce_final",
    "count_final",
    "max_final",
    "min_final",
]
