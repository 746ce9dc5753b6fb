"""Stateless and keyed operators, in Bytewax's API."""

import bytewax.operators as op
from bytewax.connectors.stdio import StdOutSink
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSource


def running(state, v):
    state = (state or 0) + v
    return (None if state > 20 else state), state


flow = Dataflow("ops")
s = op.input("inp", flow, TestingSource(list(range(12))))
s = op.inspect("seen", s)
s = op.filter("not3", s, lambda x: x % 3 != 0)
s = op.flat_map("twice", s, lambda x: [x, x * 10])
s = op.filter_map("small", s, lambda x: x if x < 80 else None)
k = op.key_on("parity", s, lambda x: "even" if x % 2 == 0 else "odd")
k = op.map_value("inc", k, lambda x: x + 1)
k = op.stateful_map("sum", k, running)
op.output("out", k, StdOutSink())

b = op.branch("small_or_big", s, lambda x: x < 40)
op.output("smalls", op.map("tag_small", b.trues, lambda x: ("small", x)), StdOutSink())
counts = op.count_final("count", b.falses, lambda x: "big" if x % 20 == 0 else "other")
op.output("counts", counts, StdOutSink())
folded = op.fold_final("fold", k, list, lambda acc, v: acc + [v])
op.output("folded", folded, StdOutSink())
op.output("out_most", op.max_final("most", k), StdOutSink())
op.output("out_least", op.min_final("least", k), StdOutSink())
