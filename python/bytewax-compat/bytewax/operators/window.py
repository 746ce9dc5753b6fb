"""``bytewax.operators.window``: Bytewax 0.19's window API over Eddy.

0.19 configured windows with ``EventClockConfig`` / ``SystemClockConfig``
and ``TumblingWindow`` / ``SlidingWindow`` / ``SessionWindow``, and each
window operator returned one keyed stream of ``(key, (WindowMetadata,
result))`` (late values were dropped). The same flows run here on Eddy's
window operators (``bytewax.operators.windowing``)."""

from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from eddy.dataflow import Stream
from eddy.operators import flat_map_value, key_on
from eddy.operators import windowing as _w
from eddy.operators.windowing import UTC_EPOCH, WindowMetadata

__all__ = [
    "EventClockConfig",
    "SystemClockConfig",
    "TumblingWindow",
    "SlidingWindow",
    "SessionWindow",
    "WindowMetadata",
    "collect_window",
    "count_window",
    "fold_window",
    "join_window",
    "join_window_named",
    "max_window",
    "min_window",
    "reduce_window",
]


def EventClockConfig(  # noqa: N802 - 0.19's class name
    dt_getter: Callable[[Any], datetime], wait_for_system_duration: timedelta
) -> _w.EventClock:
    """0.19's event clock: ``dt_getter(value)`` gives each value's time."""
    return _w.EventClock(dt_getter, wait_for_system_duration)


def SystemClockConfig() -> _w.SystemClock:  # noqa: N802
    """0.19's system clock."""
    return _w.SystemClock()


def TumblingWindow(length: timedelta, align_to: datetime = UTC_EPOCH) -> _w.TumblingWindower:  # noqa: N802
    """0.19's tumbling windows."""
    return _w.TumblingWindower(length, align_to)


def SlidingWindow(  # noqa: N802
    length: timedelta, offset: timedelta, align_to: datetime = UTC_EPOCH
) -> _w.SlidingWindower:
    """0.19's sliding windows."""
    return _w.SlidingWindower(length, offset, align_to)


def SessionWindow(gap: timedelta) -> _w.SessionWindower:  # noqa: N802
    """0.19's session windows."""
    return _w.SessionWindower(gap)


def _no_merge(_a: Any, _b: Any) -> Any:
    raise RuntimeError(
        "two sessions merged, and 0.19's fold_window has no merger: use "
        "bytewax.operators.windowing.fold_window with a merger"
    )


def fold_window(
    step_id: str,
    up: Stream,
    clock: Any,
    windower: Any,
    builder: Callable[[], Any],
    folder: Callable[[Any, Any], Any],
    merger: Callable[[Any, Any], Any] = _no_merge,
) -> Stream:
    """``(key, (WindowMetadata, acc))`` for each closed window. Values are
    folded in time order, so sessions merge only when a value bridges two
    that were already closed apart; 0.19 had no merger then either."""
    return _w.fold_window(step_id, up, clock, windower, builder, folder, merger, _legacy=True).down


def collect_window(step_id: str, up: Stream, clock: Any, windower: Any, into: type = list) -> Stream:
    """``(key, (WindowMetadata, values))``: a ``list``, ``set`` or ``dict``."""
    folds = {
        list: (list, _w._append, _w._extend),
        set: (set, _w._add, _w._union),
        dict: (dict, _w._put, _w._update),
    }
    if into not in folds:
        raise TypeError(f"collect_window {step_id!r}: into must be list, set or dict, got {into!r}")
    b, f, m = folds[into]
    return _w.fold_window(step_id, up, clock, windower, b, f, m, _legacy=True).down


def count_window(step_id: str, up: Stream, clock: Any, windower: Any, key: Callable[[Any], str]) -> Stream:
    """``(key, (WindowMetadata, count))`` of ``up``'s values by ``key``."""
    keyed = key_on(f"{step_id}_key", up, key)
    return _w.fold_window(
        step_id, keyed, clock, windower, lambda: 0, lambda n, _v: n + 1, lambda a, b: a + b, False, _legacy=True
    ).down


def reduce_window(step_id: str, up: Stream, clock: Any, windower: Any, reducer: Callable[[Any, Any], Any]) -> Stream:
    """``(key, (WindowMetadata, reducer(...)))``."""
    return _w.reduce_window(step_id, up, clock, windower, reducer, _legacy=True).down


def max_window(step_id: str, up: Stream, clock: Any, windower: Any, by: Optional[Callable] = None) -> Stream:
    """Each window's largest value."""
    key = by or (lambda v: v)
    return reduce_window(step_id, up, clock, windower, lambda a, b: b if key(b) > key(a) else a)


def min_window(step_id: str, up: Stream, clock: Any, windower: Any, by: Optional[Callable] = None) -> Stream:
    """Each window's smallest value."""
    key = by or (lambda v: v)
    return reduce_window(step_id, up, clock, windower, lambda a, b: b if key(b) < key(a) else a)


def _joined(step_id: str, clock: Any, windower: Any, sides: list, product: bool) -> Stream:
    mode = "product" if product else "last"
    return _w._join_sides(step_id, clock, windower, sides, mode, True, legacy=True).down


def join_window(step_id: str, clock: Any, windower: Any, *sides: Stream, product: bool = False) -> Stream:
    """``(key, (WindowMetadata, (v1, v2, ...)))`` when each window closes."""
    down = _joined(step_id, clock, windower, list(sides), product)
    return flat_map_value(f"{step_id}_astuple", down, lambda md_acc: [(md_acc[0], r) for r in md_acc[1].rows()])


def join_window_named(step_id: str, clock: Any, windower: Any, product: bool = False, **sides: Stream) -> Stream:
    """``(key, (WindowMetadata, {name: value}))`` when each window closes."""
    names = list(sides)
    down = _joined(step_id, clock, windower, [sides[n] for n in names], product)
    return flat_map_value(
        f"{step_id}_asdict",
        down,
        lambda md_acc: [(md_acc[0], {n: v for n, v in zip(names, r) if v is not None}) for r in md_acc[1].rows()],
    )
