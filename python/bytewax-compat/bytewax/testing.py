"""``bytewax.testing``: test inputs and outputs, and ``run_main``."""

from typing import Any, Optional

from eddy.dataflow import Dataflow
from eddy.testing import TestingSink, TestingSource
from eddy.testing import run_main as _run_main


def run_main(flow: Dataflow, *, epoch_interval: Optional[Any] = None, recovery_config: Optional[Any] = None) -> None:
    """Runs ``flow`` on one worker in this process (Bytewax's signature).
    ``epoch_interval`` is accepted and has no effect (Eddy's snapshots are
    not tied to epochs); ``recovery_config`` is not supported yet."""
    if recovery_config is not None:
        raise NotImplementedError("recovery is not supported by eddy's Python front yet")
    _run_main(flow, workers=1)


__all__ = ["TestingSource", "TestingSink", "run_main"]
