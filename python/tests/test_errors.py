"""What a user sees when their code fails: the step, the worker and the
Python traceback; and wrong shapes named."""

import sys
import textwrap

import pytest
from conftest import python_m

import eddy.operators as op
from eddy import Dataflow
from eddy.testing import TestingSink, TestingSource, run_main


def failing_mapper(x):
    return 10 // x


def test_an_exception_in_a_map_names_the_step_and_shows_the_traceback(workers):
    flow = Dataflow("errs")
    s = op.input("inp", flow, TestingSource([5, 0, 1]))
    op.output("out", op.map("divide", s, failing_mapper), TestingSink([]))
    with pytest.raises(RuntimeError) as info:
        run_main(flow, workers=workers)
    text = str(info.value)
    assert "step errs.divide panicked on worker" in text
    assert "Traceback (most recent call last):" in text
    assert "in failing_mapper" in text
    assert "ZeroDivisionError: integer division or modulo by zero" in text


def test_a_key_that_is_not_a_str_is_named(workers):
    flow = Dataflow("errs")
    s = op.input("inp", flow, TestingSource([1]))
    k = op.map("pair", s, lambda x: (x, x))
    op.output("out", op.stateful_map("sum", k, lambda s, v: (s, v)), TestingSink([]))
    with pytest.raises(RuntimeError, match="a key must be a str, got 1"):
        run_main(flow, workers=workers)


def test_a_stateful_mapper_must_return_a_pair(workers):
    flow = Dataflow("errs")
    s = op.key_on("key", op.input("inp", flow, TestingSource([1])), str)
    op.output("out", op.stateful_map("sum", s, lambda s, v: v), TestingSink([]))
    with pytest.raises(RuntimeError, match=r"must return a \(state, value\) 2-tuple"):
        run_main(flow, workers=workers)


def test_an_exception_in_the_input_iterable_is_reported(workers):
    def items():
        yield 1
        raise ValueError("the source broke")

    flow = Dataflow("errs")
    op.output("out", op.input("inp", flow, TestingSource(items())), TestingSink([]))
    with pytest.raises(RuntimeError, match="the source broke"):
        run_main(flow, workers=workers)


def test_python_m_eddy_run_runs_a_flow_file(tmp_path):
    flow_file = tmp_path / "my_flow.py"
    flow_file.write_text(
        textwrap.dedent(
            """
            import eddy.operators as op
            from eddy import Dataflow
            from eddy.connectors.stdio import StdOutSink
            from eddy.testing import TestingSource

            flow = Dataflow("cli")
            s = op.input("inp", flow, TestingSource(range(3)))
            op.output("out", op.map("sq", s, lambda x: x * x), StdOutSink())
            """
        )
    )
    for w in ["1", "2"]:
        done = python_m(sys.executable, "eddy.run", f"{flow_file}:flow", "-w", w)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "0\n1\n4\n"
    bad = python_m(sys.executable, "eddy.run", f"{flow_file}:nothing")
    assert bad.returncode != 0
    assert "has no 'nothing'" in bad.stderr
