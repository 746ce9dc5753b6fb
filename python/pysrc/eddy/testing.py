"""Inputs and outputs for tests, and running a dataflow in this process."""

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterable, List, Optional

from eddy import _eddy
from eddy.dataflow import Dataflow

if TYPE_CHECKING:
    from eddy.recovery import RecoveryConfig


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


def _ms(what: str, interval: Optional[timedelta]) -> Optional[int]:
    if interval is None:
        return None
    if not isinstance(interval, timedelta) or interval < timedelta(0):
        raise ValueError(f"{what} must be a timedelta of zero or more, got {interval!r}")
    return int(interval / timedelta(milliseconds=1))


def cli_main(
    flow: Dataflow,
    *,
    workers_per_process: int = 1,
    process_id: Optional[int] = None,
    addresses: Optional[List[str]] = None,
    epoch_interval: Optional[timedelta] = None,
    recovery_config: Optional["RecoveryConfig"] = None,
) -> None:
    """Runs ``flow`` on ``workers_per_process`` threads of this process, as
    process ``process_id`` of the processes at ``addresses`` (``host:port``
    each, the same list in every process) when given, snapshotting every
    ``epoch_interval`` (default 10 s) into ``recovery_config``'s store when
    given. Returns when the inputs are exhausted; an exception in a step is
    raised again as ``RuntimeError`` naming the step and the worker, with
    the Python traceback; Ctrl-C stops the run (outputs keep what they
    took) and raises ``KeyboardInterrupt``."""
    if not isinstance(flow, Dataflow):
        raise TypeError(f"the flow must be a Dataflow, got {type(flow).__name__}")
    if workers_per_process < 1:
        raise ValueError(f"workers must be at least 1, got {workers_per_process}")
    if addresses is not None:
        addresses = [str(a) for a in addresses]
        if process_id is None:
            raise ValueError("addresses need a process_id (this process's index in them)")
        if not 0 <= process_id < len(addresses):
            raise ValueError(f"process_id {process_id} is out of range for {len(addresses)} addresses")
    elif process_id not in (None, 0):
        raise ValueError(f"process_id {process_id} needs the addresses of every process")
    kwargs = {}
    if recovery_config is not None:
        from eddy.recovery import _check

        kwargs["recovery_dir"] = _check(recovery_config)
        kwargs["snapshot_ms"] = _ms("epoch_interval", epoch_interval) or 10_000
        kwargs["backup_ms"] = _ms("backup_interval", recovery_config.backup_interval) or 0
    _eddy.run(
        flow.flow_id,
        flow.steps,
        workers_per_process,
        process_id=process_id,
        addresses=addresses,
        **kwargs,
    )


def run_main(
    flow: Dataflow,
    *,
    workers: int = 1,
    epoch_interval: Optional[timedelta] = None,
    recovery_config: Optional["RecoveryConfig"] = None,
) -> None:
    """Runs ``flow`` in this process on ``workers`` threads (Bytewax's
    ``run_main`` runs one; ``workers`` is eddy's) and returns when its
    inputs are exhausted; see :func:`cli_main`."""
    cli_main(
        flow,
        workers_per_process=workers,
        epoch_interval=epoch_interval,
        recovery_config=recovery_config,
    )
