"""`stateful` wake-ups, `SystemClock` windows and Bytewax 0.19's
`bytewax.operators.window` (no Bytewax 0.19 oracle here: 0.21 has no such
module; the expected rows are worked out from 0.19's documentation)."""

import threading
import time
from datetime import datetime, timedelta, timezone

import bytewax.operators as bop
import bytewax.operators.window as win
import eddy.operators as op
from eddy.dataflow import Dataflow
from eddy.inputs import DynamicSource, StatelessSourcePartition
from eddy.operators.windowing import SystemClock, TumblingWindower, collect_window
from eddy.testing import TestingSink, TestingSource, run_main

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)


WOKEN = threading.Event()
"""Set by the logic's first wake-up: the source gives its second item only
after it (the moment is forced, not left to timing)."""


class WakesSoon(op.StatefulLogic):
    """Asks to be woken 1 ms after its first value; emits "woken" then."""

    def __init__(self, resume):
        self.at = None
        self.woken = resume or False

    def on_item(self, value):
        self.at = self.at or datetime.now(timezone.utc) + timedelta(milliseconds=1)
        return ([("item", value)], op.StatefulLogic.RETAIN)

    def on_notify(self):
        self.woken = True
        self.at = None
        WOKEN.set()
        return ([("woken",)], op.StatefulLogic.RETAIN)

    def notify_at(self):
        return self.at

    def snapshot(self):
        return self.woken


class _SlowPart(StatelessSourcePartition):
    """A live partition: its first item at once, the others only once the
    logic has been woken (nothing meanwhile: an empty batch, and when to ask
    again). A wake-up that never comes fails the test after 30 s."""

    def __init__(self):
        self.left = [("k", 0), ("k", 1), ("k", 2)]
        self.deadline = time.monotonic() + 30

    def next_batch(self):
        if not self.left:
            raise StopIteration
        if len(self.left) < 3 and not WOKEN.is_set():
            if time.monotonic() > self.deadline:
                raise RuntimeError("the logic was never woken")
            return []
        return [self.left.pop(0)]

    def next_awake(self):
        return datetime.now(timezone.utc) + timedelta(milliseconds=5)


class Slow(DynamicSource):
    """The partition above, on worker 0 only."""

    def build(self, step_id, worker_index, worker_count):
        part = _SlowPart()
        if worker_index != 0:
            part.left = []
        return part


def test_stateful_wakes_at_its_notify_at(workers):
    WOKEN.clear()
    flow = Dataflow("wakes")
    out = []
    s = op.input("in", flow, Slow())
    op.output("out", op.stateful("logic", s, WakesSoon), TestingSink(out))
    run_main(flow, workers=workers)
    values = [v for _k, v in out]
    # Woken between the first item and the second (the source held the
    # second until then).
    assert values.count(("woken",)) >= 1
    assert values.index(("woken",)) < values.index(("item", 1))
    assert [v for v in values if v[0] == "item"] == [("item", 0), ("item", 1), ("item", 2)]


def test_system_clock_windows_hold_every_value(workers):
    flow = Dataflow("sysclock")
    out = []
    s = op.input("in", flow, TestingSource([("a", 1), ("a", 2), ("b", 3)]))
    w = collect_window("collect", s, SystemClock(), TumblingWindower(timedelta(hours=1), T0))
    op.output("out", w.down, TestingSink(out))
    run_main(flow, workers=workers)
    # Processing time: the values fall in the current hour's window.
    got = sorted((k, sorted(vals)) for k, (_wid, vals) in out)
    assert got == [("a", [1, 2]), ("b", [3])]


def test_bytewax_0_19_window_api(workers):
    flow = Dataflow("legacy")
    out = []
    events = [("u", 0), ("u", 4), ("u", 12), ("v", 5)]
    s = bop.input("in", flow, TestingSource(events))
    clock = win.EventClockConfig(lambda t: T0 + timedelta(seconds=t), wait_for_system_duration=timedelta(0))
    windows = win.TumblingWindow(length=timedelta(seconds=10), align_to=T0)
    collected = win.collect_window("collect", s, clock, windows)
    counted = win.count_window("count", bop.key_rm("plain", s), clock, windows, lambda t: "all")
    joined = win.join_window("join", clock, windows, s, s)
    for name, stream in (("c", collected), ("n", counted), ("j", joined)):
        bop.output(f"out_{name}", bop.map(f"tag_{name}", stream, lambda x, n=name: (n, x)), TestingSink(out))
    run_main(flow, workers=workers)

    def md(start):
        return win.WindowMetadata(T0 + timedelta(seconds=start), T0 + timedelta(seconds=start + 10))

    expected = [
        ("c", ("u", (md(0), [0, 4]))),
        ("c", ("u", (md(10), [12]))),
        ("c", ("v", (md(0), [5]))),
        ("j", ("u", (md(0), (4, 4)))),
        ("j", ("u", (md(10), (12, 12)))),
        ("j", ("v", (md(0), (5, 5)))),
    ]
    assert sorted(map(repr, (x for x in out if x[0] != "n"))) == sorted(map(repr, expected))
    counts = sorted((md_.open_time, n) for _tag, (_k, (md_, n)) in (x for x in out if x[0] == "n"))
    # 5 comes after 12 with no wait: late for the one key "all" (dropped),
    # not for "u"/"v" above, whose own latest times it does not trail.
    assert counts == [(T0, 2), (T0 + timedelta(seconds=10), 1)]
