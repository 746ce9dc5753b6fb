"""Each operator on the real engine, with 1 and 2 workers; outputs in the
run's (deterministic) order."""

import pytest

import eddy.operators as op
from eddy import Dataflow
from eddy.testing import TestingSink, TestingSource, run_main


def run(build, items, workers):
    flow = Dataflow("test")
    out = []
    stream = op.input("inp", flow, TestingSource(items))
    op.output("out", build(stream), TestingSink(out))
    run_main(flow, workers=workers)
    return out


def test_map_filter_flat_map(workers):
    def build(s):
        s = op.map("double", s, lambda x: x * 2)
        s = op.filter("big", s, lambda x: x > 4)
        return op.flat_map("split", s, lambda x: [x, -x])

    assert run(build, [1, 2, 3, 4], workers) == [6, -6, 8, -8]


def test_filter_map_and_flatten(workers):
    def build(s):
        s = op.filter_map("half", s, lambda x: x // 2 if x % 2 == 0 else None)
        s = op.map("pairs", s, lambda x: (x, x))
        return op.flatten("flat", s)

    assert run(build, [1, 2, 3, 4], workers) == [1, 1, 2, 2]


def test_any_iterable_is_an_input(workers):
    # A generator: read once, in order, by one worker.
    assert run(lambda s: s, (x * x for x in range(5)), workers) == [0, 1, 4, 9, 16]


def test_inspect_passes_items_on_and_sees_each(workers, capsys):
    seen = []
    out = run(lambda s: op.inspect("look", s, lambda step, x: seen.append((step, x))), [1, 2], workers)
    assert out == [1, 2]
    assert seen == [("test.look", 1), ("test.look", 2)]
    run(lambda s: op.inspect("show", s), ["a"], workers)
    assert capsys.readouterr().out == "test.show: 'a'\n"


def test_merge(workers):
    flow = Dataflow("test")
    out = []
    a = op.input("a", flow, TestingSource([1, 2]))
    b = op.input("b", flow, TestingSource([10, 20]))
    op.output("out", op.merge("both", a, b), TestingSink(out))
    run_main(flow, workers=workers)
    assert sorted(out) == [1, 2, 10, 20]


def test_keyed_value_operators(workers):
    def build(s):
        k = op.key_on("key", s, lambda x: "even" if x % 2 == 0 else "odd")
        k = op.map_value("sq", k, lambda x: x * x)
        k = op.filter_value("not1", k, lambda x: x != 1)
        k = op.flat_map_value("twice", k, lambda x: [x, x + 1])
        return k

    assert run(build, [1, 2, 3], workers) == [("even", 4), ("even", 5), ("odd", 9), ("odd", 10)]
    assert run(lambda s: op.key_rm("rm", op.key_on("k", s, str)), [7], workers) == [7]


def test_stateful_map_keeps_a_state_per_key_and_drops_it_on_none(workers):
    def running(state, v):
        state = (state or 0) + v
        # A state of None is dropped: the key starts again.
        return (None if state >= 10 else state), state

    def build(s):
        k = op.key_on("key", s, lambda x: str(x % 2))
        return op.stateful_map("sum", k, running)

    got = run(build, [1, 2, 3, 4, 5, 6, 7, 8], workers)
    assert got == [
        ("1", 1),
        ("0", 2),
        ("1", 4),
        ("0", 6),
        ("1", 9),
        ("0", 12),
        ("1", 16),
        ("0", 8),
    ]


def test_then_chains_operators(workers):
    flow = Dataflow("test")
    out = []
    (
        op.input("inp", flow, TestingSource([1, 2]))
        .then(op.map, "inc", lambda x: x + 1)
        .then(op.output, "out", TestingSink(out))
    )
    run_main(flow, workers=workers)
    assert out == [2, 3]


def test_step_ids_are_checked_when_the_flow_is_written():
    flow = Dataflow("test")
    s = op.input("inp", flow, TestingSource([1]))
    with pytest.raises(ValueError, match="used twice"):
        op.map("inp", s, str)
    with pytest.raises(ValueError, match="without '.'"):
        op.map("a.b", s, str)
    with pytest.raises(ValueError, match="without '.'"):
        Dataflow("x.y")


def test_branch_splits_by_the_predicate(workers):
    flow = Dataflow("test")
    evens, odds = [], []
    b = op.branch("parity", op.input("inp", flow, TestingSource(range(7))), lambda x: x % 2 == 0)
    op.output("e", b.trues, TestingSink(evens))
    op.output("o", b.falses, TestingSink(odds))
    run_main(flow, workers=workers)
    assert (evens, odds) == ([0, 2, 4, 6], [1, 3, 5])


def test_final_folds_emit_once_per_key_at_the_end(workers):
    items = [("a", 3), ("b", 1), ("a", 5), ("a", 4), ("b", 2)]

    def final(build):
        return sorted(run(build, items, workers))

    assert final(lambda s: op.fold_final("f", s, list, lambda acc, v: acc + [v])) == [
        ("a", [3, 5, 4]),
        ("b", [1, 2]),
    ]
    assert final(lambda s: op.reduce_final("r", s, lambda a, b: a + b)) == [("a", 12), ("b", 3)]
    assert final(lambda s: op.max_final("mx", s)) == [("a", 5), ("b", 2)]
    assert final(lambda s: op.min_final("mn", s, by=lambda v: -v)) == [("a", 5), ("b", 2)]
    assert sorted(run(lambda s: op.count_final("c", s, lambda kv: kv[0]), items, workers)) == [
        ("a", 3),
        ("b", 2),
    ]


def test_testing_source_takes_bytewaxs_batch_size(workers):
    flow = Dataflow("test")
    out = []
    op.output("out", op.input("inp", flow, TestingSource(range(5), batch_size=2)), TestingSink(out))
    run_main(flow, workers=workers)
    assert out == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        TestingSource([], batch_size=0)
