"""Property: random keyed streams through stateful_map give the same rows
for 1, 2 and 4 workers, equal to a plain-Python reference."""

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

import eddy.operators as op
from eddy import Dataflow
from eddy.testing import TestingSink, TestingSource, run_main

events = st.lists(st.tuples(st.sampled_from("abcdefg"), st.integers(-50, 50)), max_size=60)


def running_max(state, v):
    best = v if state is None else max(state, v)
    return best, (best, v)


def through_eddy(items, workers):
    flow = Dataflow("prop")
    out = []
    s = op.input("inp", flow, TestingSource(items))
    k = op.stateful_map("max", s, running_max)
    op.output("out", k, TestingSink(out))
    run_main(flow, workers=workers)
    return out


def reference(items):
    state = defaultdict(lambda: None)
    out = []
    for key, v in items:
        state[key], w = running_max(state[key], v)
        out.append((key, w))
    return out


@settings(max_examples=40, deadline=None)
@given(events)
def test_the_same_rows_for_1_2_and_4_workers(items):
    want = reference(items)
    for workers in (1, 2, 4):
        got = through_eddy(items, workers)
        # Each key's rows in its own order; across keys, the run's order.
        assert sorted(got) == sorted(want), workers
        for key in {k for k, _ in items}:
            assert [r for r in got if r[0] == key] == [r for r in want if r[0] == key]
