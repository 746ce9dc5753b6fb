"""The operators: each adds a named step to a dataflow and returns the
stream(s) it makes. Names and signatures are Bytewax's (0.19–0.21)."""

import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Generic, Iterable, List, Optional, Tuple, TypeVar

from eddy.dataflow import Dataflow, Stream
from eddy.inputs import _kind as _input_kind
from eddy.connectors.kafka import KafkaSink, KafkaSource
from eddy.outputs import DynamicSink, FixedPartitionedSink
from eddy.testing import TestingSource

X = TypeVar("X")
Y = TypeVar("Y")
V = TypeVar("V")
W = TypeVar("W")
S = TypeVar("S")


def input(step_id: str, flow: Dataflow, source: Any) -> Stream[Any]:  # noqa: A001 - Bytewax's name
    """Reads ``source``: a :class:`~eddy.testing.TestingSource`, a
    :class:`~eddy.connectors.kafka.KafkaSource`, or a
    Python-written :class:`~eddy.inputs.FixedPartitionedSource` or
    :class:`~eddy.inputs.DynamicSource`."""
    if isinstance(source, TestingSource):
        return flow._add("input", step_id, [], [source.ib], 1)[0]
    if isinstance(source, KafkaSource):
        return flow._add("input_kafka", step_id, [], source._args(), 1)[0]
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
    order), a Python-written :class:`~eddy.outputs.DynamicSink` (a
    writer per worker) or :class:`~eddy.outputs.FixedPartitionedSink`
    (``(key, value)`` items; one writer holds every partition, so that a
    resume with any number of workers finds each partition's state)."""
    if isinstance(sink, DynamicSink):
        up.flow._add("output_dynamic", step_id, [up], [sink], 0)
        return
    if isinstance(sink, KafkaSink):
        up.flow._add("output_kafka", step_id, [up], sink._args(), 0)
        return
    if isinstance(sink, FixedPartitionedSink):
        up.flow._add("output_partitioned", step_id, [up], [sink], 0)
        return
    write = getattr(sink, "_write", None)
    if write is None:
        raise TypeError(
            f"output {step_id!r}: eddy writes to TestingSink, StdOutSink, DynamicSink and "
            "FixedPartitionedSink; "
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


class StatefulLogic(ABC, Generic[V, W, S]):
    """One key's logic in :func:`stateful` (Bytewax's interface). Each
    method returns ``(emits, discard)``: the values to emit for the key,
    and whether to drop this logic (the next value of the key builds a
    new one)."""

    RETAIN: bool = False
    """Keep this logic."""

    DISCARD: bool = True
    """Drop this logic."""

    @abstractmethod
    def on_item(self, value: V) -> Tuple[Iterable[W], bool]:
        """Takes one value of the key."""

    def on_notify(self) -> Tuple[Iterable[W], bool]:
        """The time :meth:`notify_at` asked for has come."""
        return ((), StatefulLogic.RETAIN)

    def on_eof(self) -> Tuple[Iterable[W], bool]:
        """The input is exhausted."""
        return ((), StatefulLogic.RETAIN)

    def notify_at(self) -> Optional[datetime]:
        """When to call :meth:`on_notify` (system time, UTC); ``None``:
        never. Asked again after every call."""
        return None

    @abstractmethod
    def snapshot(self) -> S:
        """The state a snapshot keeps; the builder gets it back on a
        resume. Pickled: it must not share objects with the logic that
        later change."""


def stateful(
    step_id: str,
    up: Stream[Tuple[str, V]],
    builder: Callable[[Optional[S]], StatefulLogic[V, W, S]],
) -> Stream[Tuple[str, W]]:
    """Runs a :class:`StatefulLogic` per key: ``builder(None)`` makes a
    key's logic at its first value (``builder(state)`` on a resume, with
    what ``snapshot()`` returned); emits ``(key, w)`` for what it emits."""
    return up.flow._add("stateful", step_id, [up], [builder], 1)[0]


def stateful_flat_map(
    step_id: str,
    up: Stream[Tuple[str, V]],
    mapper: Callable[[Optional[S], V], Tuple[Optional[S], Iterable[W]]],
) -> Stream[Tuple[str, W]]:
    """Like :func:`stateful_map`, but ``mapper`` returns any number of
    values to emit."""
    mapped = stateful_map(step_id, up, mapper)
    return flat_map_value(f"{step_id}_flatten", mapped, lambda ws: ws)


def collect(
    step_id: str, up: Stream[Tuple[str, V]], timeout: timedelta, max_size: int
) -> Stream[Tuple[str, List[V]]]:
    """Gathers each key's values into lists: a list is emitted when it
    holds ``max_size`` values, when ``timeout`` of system time has passed
    since its first value, or at the end of the input."""
    if not isinstance(timeout, timedelta) or timeout < timedelta(0):
        raise ValueError(f"collect {step_id!r}: timeout must be a timedelta of zero or more")
    if max_size < 1:
        raise ValueError(f"collect {step_id!r}: max_size must be at least 1")
    ms = timeout // timedelta(milliseconds=1)
    return up.flow._add("collect", step_id, [up], [int(max_size), int(ms)], 1)[0]


def join(
    step_id: str,
    *sides: Stream[Tuple[str, Any]],
    insert_mode: str = "last",
    emit_mode: str = "complete",
) -> Stream[Tuple[str, Tuple[Any, ...]]]:
    """Joins keyed streams on their keys: ``(key, (v1, v2, ...))``, a value
    per side (``None`` for a side without one).

    ``insert_mode``: a side keeps its ``"first"`` value, its ``"last"``, or
    every value (``"product"``: one row per combination).
    ``emit_mode``: ``"complete"`` emits once every side has a value, then
    forgets the key's values; ``"final"`` emits at the end of the input;
    ``"running"`` emits at every value."""
    if not sides:
        raise ValueError(f"join {step_id!r} needs at least one stream")
    if insert_mode not in ("first", "last", "product"):
        raise ValueError(f"join {step_id!r}: insert_mode must be 'first', 'last' or 'product'")
    if emit_mode not in ("complete", "final", "running"):
        raise ValueError(f"join {step_id!r}: emit_mode must be 'complete', 'final' or 'running'")
    return sides[0].flow._add("join", step_id, list(sides), [insert_mode, emit_mode], 1)[0]


def redistribute(step_id: str, up: Stream[X]) -> Stream[X]:
    """The same items, spread evenly over the workers."""
    return up.flow._add("redistribute", step_id, [up], [], 1)[0]


def raises(step_id: str, up: Stream[Any]) -> None:
    """Stops the run at the first item of ``up`` (for streams that must
    stay empty, such as a window's ``late``)."""

    def fail(item: Any) -> None:
        raise RuntimeError(f"step {step_id!r} got an item: {item!r}")

    inspect(step_id, up, lambda _s, item: fail(item))


def inspect_debug(
    step_id: str,
    up: Stream[X],
    inspector: Optional[Callable[[str, X, int, int], None]] = None,
) -> Stream[X]:
    """Like :func:`inspect`, with two more arguments to ``inspector``:
    Bytewax's epoch and worker index. Eddy passes 0 for both (its steps do
    not see epochs; the worker is not exposed to Python callbacks)."""

    def show(step: str, item: X, epoch: int, worker: int) -> None:
        sys.stdout.write(f"{step} W{worker} @{epoch}: {item!r}\n")
        sys.stdout.flush()

    f = inspector or show
    return inspect(step_id, up, lambda step, item: f(step, item, 0, 0))


__all__ = [
    "StatefulLogic",
    "stateful",
    "stateful_flat_map",
    "collect",
    "join",
    "redistribute",
    "raises",
    "inspect_debug",
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
