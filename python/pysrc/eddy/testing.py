"""Inputs and outputs for tests, and running a dataflow in this process."""

from typing import Any, Iterable, List

from eddy import _eddy
from eddy.dataflow import Dataflow


class TestingSource:
    """An input of the items of ``ib`` (any iterable), in order, read by
    one worker. A resumed run iterates ``ib`` again and skips the items it
    had read, so give a re-iterable collection (a list, a range) when the
    run is recovered."""

    __test__ = False

    def __init__(self, ib: Iterable[Any], batch_size: int = 1) -> None:
        # `batch_size` is Bytewax's; eddy's input takes the items in batches
        # of its own (256), whatever it is.
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.ib = ib


class TestingSink:
    """An output that appends every item to the list ``ls``, in the run's
    order (one writer)."""

    __test__ = False

    def __init__(self, ls: List[Any]) -> None:
        self.ls = ls

    def _write(self, items: List[Any]) -> None:
        self.ls.extend(items)


def run_main(flow: Dataflow, *, workers: int = 1) -> None:
    """Runs ``flow`` in this process on ``workers`` threads and returns when
    its inputs are exhausted. An exception in a step is raised again as
    ``RuntimeError``, naming the step and the worker, with the Python
    traceback."""
    if not isinstance(flow, Dataflow):
        raise TypeError(f"run_main takes a Dataflow, got {type(flow).__name__}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    _eddy.run(flow.flow_id, flow.steps, workers)
