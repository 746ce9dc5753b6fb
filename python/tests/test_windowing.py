"""Windows on the real engine, with 1 and 2 workers: tumbling, sliding and
session windowers, late values, metadata, and the fold variants. The
cases follow Bytewax's documented semantics (window ids count from
``align_to`` in steps of the length / offset; sessions merge within
``gap``; a value behind its key's watermark is late)."""

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import python_m

import eddy.operators as op
import eddy.operators.windowing as win
from eddy import Dataflow
from eddy.operators.windowing import (
    EventClock,
    SessionWindower,
    SlidingWindower,
    TumblingWindower,
    WindowMetadata,
)
from eddy.testing import TestingSink, TestingSource, run_main

ALIGN = datetime(2024, 1, 1, tzinfo=timezone.utc)


def at(seconds):
    return ALIGN + timedelta(seconds=seconds)


def run_window(items, windower, workers, wait=timedelta(0), window=win.collect_window, **kw):
    """``items`` are ``(key, seconds)``; the value is the pair itself."""
    flow = Dataflow("win")
    down, late, meta = [], [], []
    s = op.input("inp", flow, TestingSource(items))
    keyed = op.map("key", s, lambda kv: (kv[0], kv))
    clock = EventClock(lambda kv: at(kv[1]), wait_for_system_duration=wait)
    out = window("w", keyed, clock, windower, **kw)
    op.output("down", out.down, TestingSink(down))
    op.output("late", out.late, TestingSink(late))
    op.output("meta", out.meta, TestingSink(meta))
    run_main(flow, workers=workers)
    return down, late, meta


def test_tumbling_windows_count_from_align_to(workers):
    down, late, meta = run_window(
        [("a", 0), ("a", 4), ("b", 5), ("a", 12)], TumblingWindower(timedelta(seconds=10), ALIGN), workers
    )
    assert sorted(down) == [
        ("a", (0, [("a", 0), ("a", 4)])),
        ("a", (1, [("a", 12)])),
        ("b", (0, [("b", 5)])),
    ]
    assert late == []
    assert ("a", (1, WindowMetadata(at(10), at(20), set()))) in meta


def test_sliding_windows_hold_a_value_in_each_window_that_covers_it(workers):
    down, _, _ = run_window(
        [("a", 7)], SlidingWindower(timedelta(seconds=10), timedelta(seconds=5), ALIGN), workers
    )
    assert sorted(down) == [("a", (0, [("a", 7)])), ("a", (1, [("a", 7)]))]


def test_sessions_split_on_the_gap_and_merge_when_a_value_bridges_them(workers):
    # 0 and 3 are one session, 30 another; then with 20, 12 bridges 3 and
    # 20 (within 10 s of both), so all four are one session.
    gap = SessionWindower(timedelta(seconds=10))
    down, _, meta = run_window([("a", 0), ("a", 3), ("a", 30)], gap, workers, wait=timedelta(seconds=60))
    assert [sorted(v for v in w) for _, (_, w) in sorted(down, key=lambda r: r[1][1][0][1])] == [
        [("a", 0), ("a", 3)],
        [("a", 30)],
    ]
    down, _, meta = run_window(
        [("a", 0), ("a", 3), ("a", 20), ("a", 12)], gap, workers, wait=timedelta(seconds=60)
    )
    assert len(down) == 1
    _, (wid, values) = down[0]
    # In time order (ordered folds), whatever the arrival order.
    assert values == [("a", 0), ("a", 3), ("a", 12), ("a", 20)]
    (_, (mid, m)), = meta
    assert mid == wid and (m.open_time, m.close_time) == (at(0), at(20))


def test_a_value_behind_its_keys_watermark_is_late(workers):
    down, late, _ = run_window(
        [("a", 12), ("a", 2), ("b", 2)], TumblingWindower(timedelta(seconds=10), ALIGN), workers
    )
    assert late == [("a", (0, ("a", 2)))]
    assert sorted(down) == [("a", (1, [("a", 12)])), ("b", (0, [("b", 2)]))]
    # Within the wait it is on time.
    down, late, _ = run_window(
        [("a", 12), ("a", 2)], TumblingWindower(timedelta(seconds=10), ALIGN), workers, wait=timedelta(seconds=15)
    )
    assert late == []
    assert sorted(down) == [("a", (0, [("a", 2)])), ("a", (1, [("a", 12)]))]


def test_fold_reduce_count_max_min(workers):
    tumble = TumblingWindower(timedelta(seconds=10), ALIGN)
    items = [("a", 1), ("a", 3), ("a", 5), ("b", 2)]
    down, _, _ = run_window(items, tumble, workers, window=win.reduce_window, reducer=lambda x, y: (x[0], x[1] + y[1]))
    assert sorted(down) == [("a", (0, ("a", 9))), ("b", (0, ("b", 2)))]
    down, _, _ = run_window(items, tumble, workers, window=win.max_window, by=lambda kv: kv[1])
    assert sorted(down) == [("a", (0, ("a", 5))), ("b", (0, ("b", 2)))]
    down, _, _ = run_window(items, tumble, workers, window=win.min_window, by=lambda kv: kv[1])
    assert sorted(down) == [("a", (0, ("a", 1))), ("b", (0, ("b", 2)))]
    down, _, _ = run_window(
        items, tumble, workers, window=win.fold_window, builder=list, folder=lambda acc, v: acc + [v[1]],
        merger=lambda a, b: a + b,
    )
    assert sorted(down) == [("a", (0, [1, 3, 5])), ("b", (0, [2]))]

    flow = Dataflow("count")
    out = []
    s = op.input("inp", flow, TestingSource(["x", "y", "x"]))
    counted = win.count_window("c", s, EventClock(lambda _: at(1)), tumble, key=lambda w: w)
    op.output("out", counted.down, TestingSink(out))
    run_main(flow, workers=workers)
    assert sorted(out) == [("x", (0, 2)), ("y", (0, 1))]


def test_collect_into_set_and_dict(workers):
    tumble = TumblingWindower(timedelta(seconds=10), ALIGN)
    flow = Dataflow("into")
    sets, dicts = [], []
    s = op.input("inp", flow, TestingSource([("k", ("x", 1)), ("k", ("y", 2)), ("k", ("x", 3))]))
    clock = EventClock(lambda v: at(v[1]))
    op.output("s", win.collect_window("as_set", s, clock, tumble, into=set).down, TestingSink(sets))
    op.output("d", win.collect_window("as_dict", s, clock, tumble, into=dict).down, TestingSink(dicts))
    run_main(flow, workers=workers)
    assert sets == [("k", (0, {("x", 1), ("y", 2), ("x", 3)}))]
    assert dicts == [("k", (0, {"x": 3, "y": 2}))]


def test_a_naive_datetime_is_refused_naming_it(workers):
    flow = Dataflow("naive")
    s = op.input("inp", flow, TestingSource([("a", 1)]))
    clock = EventClock(lambda _: datetime(2024, 1, 1))
    out = win.collect_window("w", s, clock, TumblingWindower(timedelta(seconds=1), ALIGN))
    op.output("out", out.down, TestingSink([]))
    with pytest.raises(RuntimeError, match="must be timezone-aware"):
        run_main(flow, workers=workers)


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "search_session.py"
TUTORIAL_OUTPUT = "User 1: 1 searches, 1 clicks\nUser 2: 1 searches, 2 clicks\n('1', 1.0)\n('2', 2.0)\n"


@pytest.mark.parametrize("w", ["1", "2"])
def test_the_tutorial_flow_prints_its_four_lines(w):
    done = python_m(sys.executable, "eddy.run", f"{EXAMPLE}:flow", "-w", w)
    assert done.returncode == 0, done.stderr
    assert done.stdout == TUTORIAL_OUTPUT
