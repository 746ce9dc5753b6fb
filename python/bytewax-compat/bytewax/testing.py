"""``bytewax.testing``: test inputs and outputs, ``run_main`` and ``cli_main``."""

from datetime import timedelta
from typing import Optional

from eddy.dataflow import Dataflow
from eddy.recovery import RecoveryConfig
from eddy.testing import TestingSink, TestingSource, cli_main
from eddy.testing import run_main as _run_main


def run_main(
    flow: Dataflow,
    *,
    epoch_interval: Optional[timedelta] = None,
    recovery_config: Optional[RecoveryConfig] = None,
) -> None:
    """Runs ``flow`` on one worker in this process (Bytewax's signature)."""
    _run_main(flow, workers=1, epoch_interval=epoch_interval, recovery_config=recovery_config)


__all__ = ["TestingSource", "TestingSink", "run_main", "cli_main"]
