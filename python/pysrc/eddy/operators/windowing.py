"""Windows over event time: clocks, windowers and window operators, with
Bytewax's names and signatures (``bytewax.operators.windowing``).

A window step keys on the stream's ``(key, value)`` 2-tuples; each key's
values are put in windows by their time (:class:`EventClock`) and the
window's shape (:class:`SessionWindower`, :class:`TumblingWindower`,
:class:`SlidingWindower`). A window step returns a :class:`WindowOut`:
``down`` carries ``(key, (window_id, result))`` for each closed window,
``late`` ``(key, (window_id, value))`` for each value too late for its
window, and ``meta`` ``(key, (window_id, WindowMetadata))``.

Eddy's event clock is deterministic: a key's watermark is its latest time
minus ``wait_for_system_duration``, and it also follows the input's
event-time progress, never the wall clock. On a bounded input the windows
and the late values are therefore the same for any number of workers and
any machine speed; every window still open is closed at the end of the
input.
"""

import functools
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, List, Optional, Set, Tuple, TypeVar

from eddy.dataflow import Stream

V = TypeVar("V")
S = TypeVar("S")

UTC_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
"""The Unix epoch, the default alignment of tumbling and sliding windows."""

ZERO_TD = timedelta(0)


def _ms(what: str, td: timedelta) -> int:
    if not isinstance(td, timedelta):
        raise TypeError(f"{what} must be a timedelta, got {td!r}")
    return td // timedelta(milliseconds=1)


def _at_ms(what: str, dt: datetime) -> int:
    if not isinstance(dt, datetime):
        raise TypeError(f"{what} must be a datetime, got {dt!r}")
    if dt.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware (e.g. tzinfo=timezone.utc), got {dt!r}")
    return (dt - UTC_EPOCH) // timedelta(milliseconds=1)


def _time(ms: int) -> datetime:
    return UTC_EPOCH + timedelta(milliseconds=ms)


class EventClock:
    """Times from the values: ``ts_getter(value)`` gives each value's time
    (a timezone-aware ``datetime``); a key's values may come up to
    ``wait_for_system_duration`` out of order before they are late."""

    def __init__(
        self,
        ts_getter: Callable[[Any], datetime],
        wait_for_system_duration: timedelta = ZERO_TD,
        **_ignored: Any,
    ) -> None:
        self.ts_getter = ts_getter
        self.wait_ms = _ms("wait_for_system_duration", wait_for_system_duration)
        if self.wait_ms < 0:
            raise ValueError("wait_for_system_duration must not be negative")

    def _time_of(self, value: Any) -> int:
        return _at_ms("EventClock's ts_getter result", self.ts_getter(value))


class SystemClock:
    """Times from the system clock: each value gets the time it is seen
    at, and nothing is ever late. Not deterministic: the windows depend on
    when the values come (use :class:`EventClock` for repeatable rows)."""

    wait_ms = 0

    _time_of = None


class SessionWindower:
    """Sessions: a value joins a key's session when it is within ``gap`` of
    it, and sessions that come within ``gap`` of each other merge."""

    def __init__(self, gap: timedelta) -> None:
        self.gap = gap
        self._spec = ("session", [_ms("gap", gap)])
        if self._spec[1][0] <= 0:
            raise ValueError("gap must be positive")


class TumblingWindower:
    """Windows of ``length``, one after the other, aligned to ``align_to``."""

    def __init__(self, length: timedelta, align_to: datetime = UTC_EPOCH) -> None:
        self.length = length
        self.align_to = align_to
        self._spec = ("tumbling", [_ms("length", length), _at_ms("align_to", align_to)])


class SlidingWindower:
    """Windows of ``length`` starting every ``offset``, aligned to
    ``align_to``: a value is in every window that covers its time."""

    def __init__(self, length: timedelta, offset: timedelta, align_to: datetime = UTC_EPOCH) -> None:
        self.length = length
        self.offset = offset
        self.align_to = align_to
        self._spec = (
            "sliding",
            [_ms("length", length), _ms("offset", offset), _at_ms("align_to", align_to)],
        )


@dataclass(frozen=True)
class WindowMetadata:
    """A closed window's extent: ``open_time`` and ``close_time`` (for
    sessions, the earliest and latest value's times), and the ids of the
    windows merged into it (sessions)."""

    open_time: datetime
    close_time: datetime
    merged_ids: Set[int] = field(default_factory=set)


def _metadata(open_ms: int, close_ms: int, merged: List[int]) -> WindowMetadata:
    return WindowMetadata(_time(open_ms), _time(close_ms), set(merged))


@dataclass(frozen=True)
class WindowOut:
    """The streams of a window step."""

    down: Stream[Tuple[str, Tuple[int, Any]]]
    late: Stream[Tuple[str, Tuple[int, Any]]]
    meta: Stream[Tuple[str, Tuple[int, WindowMetadata]]]


def fold_window(
    step_id: str,
    up: Stream[Tuple[str, V]],
    clock: EventClock,
    windower: Any,
    builder: Callable[[], S],
    folder: Callable[[S, V], S],
    merger: Callable[[S, S], S],
    ordered: bool = True,
    *,
    _legacy: bool = False,
) -> WindowOut:
    """Folds each window's values: ``builder()`` starts an accumulator,
    ``folder(acc, value)`` adds a value, ``merger(a, b)`` joins two
    sessions that merge. With ``ordered`` (the default) a window's values
    reach ``folder`` in time order."""
    if not isinstance(clock, (EventClock, SystemClock)):
        raise TypeError(
            f"window step {step_id!r}: the clock must be an EventClock or a SystemClock, "
            f"got {type(clock).__name__}"
        )
    spec = getattr(windower, "_spec", None)
    if spec is None:
        raise TypeError(f"window step {step_id!r}: not a windower: {windower!r}")
    kind, params = spec
    down, late, meta = up.flow._add(
        "fold_window",
        step_id,
        [up],
        [
            clock._time_of,
            clock.wait_ms,
            kind,
            params,
            builder,
            folder,
            merger,
            bool(ordered),
            _metadata,
            bool(_legacy),
        ],
        3,
    )
    return WindowOut(down, late, meta)


def collect_window(
    step_id: str,
    up: Stream[Tuple[str, V]],
    clock: EventClock,
    windower: Any,
    into: type = list,
    ordered: bool = True,
) -> WindowOut:
    """Collects each window's values, in time order, into a ``list`` (the
    default), a ``set``, or a ``dict`` (of ``(k, v)`` 2-tuple values)."""
    if into is list:
        return fold_window(step_id, up, clock, windower, list, _append, _extend, ordered)
    if into is set:
        return fold_window(step_id, up, clock, windower, set, _add, _union, ordered)
    if into is dict:
        return fold_window(step_id, up, clock, windower, dict, _put, _update, ordered)
    raise TypeError(f"collect_window {step_id!r}: into must be list, set or dict, got {into!r}")


def _append(acc: list, v: Any) -> list:
    acc.append(v)
    return acc


def _extend(a: list, b: list) -> list:
    a.extend(b)
    return a


def _add(acc: set, v: Any) -> set:
    acc.add(v)
    return acc


def _union(a: set, b: set) -> set:
    a |= b
    return a


def _put(acc: dict, kv: Tuple[Any, Any]) -> dict:
    k, v = kv
    acc[k] = v
    return acc


def _update(a: dict, b: dict) -> dict:
    a.update(b)
    return a


def reduce_window(
    step_id: str,
    up: Stream[Tuple[str, V]],
    clock: EventClock,
    windower: Any,
    reducer: Callable[[V, V], V],
    *,
    _legacy: bool = False,
) -> WindowOut:
    """``reducer(a, b)`` over each window's values, in time order."""
    from eddy.operators import _Empty

    def fold(acc: Any, v: V) -> Any:
        return v if isinstance(acc, _Empty) else reducer(acc, v)

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, _Empty):
            return b
        return a if isinstance(b, _Empty) else reducer(a, b)

    return fold_window(step_id, up, clock, windower, _Empty, fold, merge, _legacy=_legacy)


def count_window(
    step_id: str,
    up: Stream[V],
    clock: EventClock,
    windower: Any,
    key: Callable[[V], str],
) -> WindowOut:
    """Counts the values of ``up`` by ``key(value)`` in each window:
    ``down`` carries ``(key, (window_id, count))``."""
    from eddy.operators import key_on

    keyed = key_on(f"{step_id}_key", up, key)
    return fold_window(
        step_id,
        keyed,
        clock,
        windower,
        lambda: 0,
        lambda n, _v: n + 1,
        lambda a, b: a + b,
        ordered=False,
    )


def max_window(
    step_id: str,
    up: Stream[Tuple[str, V]],
    clock: EventClock,
    windower: Any,
    by: Optional[Callable[[V], Any]] = None,
) -> WindowOut:
    """Each window's largest value (by ``by(value)``; the first of equals)."""
    return _extreme(step_id, up, clock, windower, by, lambda new, best: new > best)


def min_window(
    step_id: str,
    up: Stream[Tuple[str, V]],
    clock: EventClock,
    windower: Any,
    by: Optional[Callable[[V], Any]] = None,
) -> WindowOut:
    """Each window's smallest value (by ``by(value)``; the first of equals)."""
    return _extreme(step_id, up, clock, windower, by, lambda new, best: new < best)


def _extreme(step_id, up, clock, windower, by, beats) -> WindowOut:
    key = by or (lambda v: v)
    return reduce_window(step_id, up, clock, windower, lambda a, b: b if beats(key(b), key(a)) else a)


class _JoinSides:
    """A window's values per side of a join."""

    def __init__(self, n: int) -> None:
        self.sides: List[List[Any]] = [[] for _ in range(n)]

    def insert(self, mode: str, side: int, value: Any) -> "_JoinSides":
        kept = self.sides[side]
        if mode == "product":
            kept.append(value)
        elif mode == "last" or not kept:
            self.sides[side] = [value]
        return self

    def merge(self, mode: str, later: "_JoinSides") -> "_JoinSides":
        # `self` is the earlier window: "first" keeps its values, "last"
        # the later window's, "product" both.
        for i, (a, b) in enumerate(zip(self.sides, later.sides)):
            if mode == "product":
                self.sides[i] = a + b
            elif mode == "last":
                self.sides[i] = b or a
            else:
                self.sides[i] = a or b
        return self

    def rows(self) -> List[Tuple[Any, ...]]:
        return list(itertools.product(*(side or [None] for side in self.sides)))


def join_window(
    step_id: str,
    clock: Any,
    windower: Any,
    *sides: Stream[Tuple[str, Any]],
    insert_mode: str = "last",
    emit_mode: str = "final",
    ordered: bool = True,
) -> WindowOut:
    """Joins keyed streams within windows: when a window closes, ``down``
    carries ``(key, (window_id, (v1, v2, ...)))``, a value per side
    (``None`` for a side without one in the window); with
    ``insert_mode="product"`` one row per combination. The clock reads the
    sides' values. Eddy supports ``emit_mode="final"`` (Bytewax's default
    for windows); ``"complete"`` and ``"running"`` are refused."""
    if not sides:
        raise ValueError(f"join_window {step_id!r} needs at least one stream")
    if insert_mode not in ("first", "last", "product"):
        raise ValueError(f"join_window {step_id!r}: insert_mode must be 'first', 'last' or 'product'")
    if emit_mode != "final":
        raise NotImplementedError(
            f"join_window {step_id!r}: eddy's Python front emits window joins when the window "
            f"closes (emit_mode='final'); emit_mode={emit_mode!r} is not supported"
        )
    out = _join_sides(step_id, clock, windower, sides, insert_mode, ordered, legacy=False)
    from eddy.operators import flat_map_value

    down = flat_map_value(
        f"{step_id}_rows", out.down, lambda wid_acc: [(wid_acc[0], row) for row in wid_acc[1].rows()]
    )
    return WindowOut(down, out.late, out.meta)


def _label(i: int, v: Any) -> Tuple[int, Any]:
    return (i, v)


def _join_sides(step_id, clock, windower, sides, insert_mode, ordered, legacy) -> WindowOut:
    """The window step of a window join: each side's values labelled with
    its index, merged, and kept per window in a :class:`_JoinSides` (its
    accumulator, on ``down``); the clock reads the unlabelled values."""
    from eddy.operators import map_value, merge

    labeled = [
        map_value(f"{step_id}_label_{i}", side, functools.partial(_label, i)) for i, side in enumerate(sides)
    ]
    merged = merge(f"{step_id}_merge", *labeled)
    if isinstance(clock, EventClock):
        inner = EventClock(lambda iv: clock.ts_getter(iv[1]))
        inner.wait_ms = clock.wait_ms
    else:
        inner = clock
    n = len(sides)
    return fold_window(
        step_id,
        merged,
        inner,
        windower,
        lambda: _JoinSides(n),
        lambda acc, iv: acc.insert(insert_mode, iv[0], iv[1]),
        lambda a, b: a.merge(insert_mode, b),
        ordered,
        _legacy=legacy,
    )


__all__ = [
    "UTC_EPOCH",
    "SystemClock",
    "join_window",
    "EventClock",
    "SessionWindower",
    "TumblingWindower",
    "SlidingWindower",
    "WindowMetadata",
    "WindowOut",
    "fold_window",
    "collect_window",
    "reduce_window",
    "count_window",
    "max_window",
    "min_window",
]
