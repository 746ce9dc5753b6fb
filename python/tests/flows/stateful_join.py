"""stateful (StatefulLogic), stateful_flat_map, join in every mode,
collect, join_window and redistribute, in Bytewax's API."""

from datetime import datetime, timedelta, timezone

import bytewax.operators as op
from bytewax.connectors.stdio import StdOutSink
from bytewax.dataflow import Dataflow
from bytewax.operators import StatefulLogic
from bytewax.operators.windowing import EventClock, TumblingWindower, join_window
from bytewax.testing import TestingSource


class Budget(StatefulLogic):
    """Sums a key's values; emits the sum at each value, and a closing line
    (then forgets the key) once it passes 10 or at the end."""

    def __init__(self, resume):
        self.total = resume or 0

    def on_item(self, value):
        self.total += value
        if self.total > 10:
            return ([("over", self.total)], StatefulLogic.DISCARD)
        return ([("sum", self.total)], StatefulLogic.RETAIN)

    def on_eof(self):
        return ([("eof", self.total)], StatefulLogic.DISCARD)

    def snapshot(self):
        return self.total


def pairs(last, v):
    return v, ([] if last is None else [(last, v)])


flow = Dataflow("sj")
nums = op.input("nums", flow, TestingSource([("a", 3), ("b", 4), ("a", 5), ("a", 4), ("c", 1), ("a", 2), ("b", 1)]))
op.output("budget_out", op.stateful("budget", nums, Budget), StdOutSink())
op.output("pairs_out", op.stateful_flat_map("pairs", nums, pairs), StdOutSink())

left = op.input("left", flow, TestingSource([("u1", "l1"), ("u2", "l2"), ("u1", "l3"), ("u3", "l4")]))
right = op.input("right", flow, TestingSource([("u1", "r1"), ("u3", "r2"), ("u1", "r3"), ("u4", "r4")]))
for emit in ("complete", "final", "running"):
    for insert in ("first", "last", "product"):
        if emit == "running" and insert != "last":
            continue  # running rows depend on how the two inputs interleave
        if emit == "complete" and insert != "last":
            continue
        j = op.join(f"join_{emit}_{insert}", left, right, insert_mode=insert, emit_mode=emit)
        op.output(f"out_{emit}_{insert}", op.map(f"tag_{emit}_{insert}", j, lambda x, t=f"{emit}/{insert}": (t, x)), StdOutSink())

spread = op.redistribute("spread", nums)
op.output("collected", op.collect("collect", spread, timedelta(hours=1), 2), StdOutSink())

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
clicks = op.input("clicks", flow, TestingSource([("u1", 1), ("u2", 3), ("u1", 12), ("u1", 14)]))
views = op.input("views", flow, TestingSource([("u1", 2), ("u1", 11), ("u2", 25)]))
clock = EventClock(lambda t: T0 + timedelta(seconds=t), wait_for_system_duration=timedelta(seconds=100))
for insert in ("last", "product"):
    joined = join_window(f"jw_{insert}", clock, TumblingWindower(timedelta(seconds=10), T0), clicks, views, insert_mode=insert)
    op.output(f"jw_out_{insert}", op.map(f"jw_tag_{insert}", joined.down, lambda x, i=insert: (i, x)), StdOutSink())
