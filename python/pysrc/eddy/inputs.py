"""Python-written inputs, with Bytewax's classes (``bytewax.inputs``).

A :class:`FixedPartitionedSource` has named partitions, spread over the
workers; a :class:`DynamicSource` has one partition per worker. A
partition's ``next_batch()`` returns the items it has now (an empty batch:
nothing yet, ask again at ``next_awake()``) and raises ``StopIteration``
when it is done.
"""

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, Generic, Iterable, List, Optional, TypeVar

X = TypeVar("X")
S = TypeVar("S")


class StatefulSourcePartition(ABC, Generic[X, S]):
    """One partition of a :class:`FixedPartitionedSource`."""

    @abstractmethod
    def next_batch(self) -> Iterable[X]:
        """The items available now; ``raise StopIteration`` at the end."""

    def next_awake(self) -> Optional[datetime]:
        """When to call ``next_batch`` again after an empty batch (``None``:
        soon)."""
        return None

    @abstractmethod
    def snapshot(self) -> S:
        """The state to resume from, after the last batch (given back to
        ``build_part`` on a resume). Called after every batch and
        pickled: keep it small (a file offset, a message id)."""

    def close(self) -> None:
        """Called once the partition is done."""


class FixedPartitionedSource(ABC, Generic[X, S]):
    """An input with a fixed list of named partitions."""

    @abstractmethod
    def list_parts(self) -> List[str]:
        """The partitions' names, the same on every worker."""

    @abstractmethod
    def build_part(self, step_id: str, for_part: str, resume_state: Optional[S]) -> StatefulSourcePartition[X, S]:
        """Opens partition ``for_part`` (``resume_state``: what its
        ``snapshot()`` returned at the snapshot resumed from, or ``None``)."""


class StatelessSourcePartition(ABC, Generic[X]):
    """One worker's partition of a :class:`DynamicSource`."""

    @abstractmethod
    def next_batch(self) -> Iterable[X]:
        """The items available now; ``raise StopIteration`` at the end."""

    def next_awake(self) -> Optional[datetime]:
        """When to call ``next_batch`` again after an empty batch."""
        return None

    def close(self) -> None:
        """Called once the partition is done."""


class DynamicSource(ABC, Generic[X]):
    """An input with one partition per worker."""

    @abstractmethod
    def build(self, step_id: str, worker_index: int, worker_count: int) -> StatelessSourcePartition[X]:
        """Opens worker ``worker_index``'s partition."""


def _kind(source: Any) -> Optional[str]:
    if isinstance(source, FixedPartitionedSource):
        return "input_partitioned"
    if isinstance(source, DynamicSource):
        return "input_dynamic"
    return None


__all__ = [
    "FixedPartitionedSource",
    "StatefulSourcePartition",
    "DynamicSource",
    "StatelessSourcePartition",
]
