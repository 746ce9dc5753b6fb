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
