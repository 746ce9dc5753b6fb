"""Python-written outputs, with Bytewax's classes (``bytewax.outputs``).

A :class:`DynamicSink` has one writer per worker: each worker writes the
items that reach it, in their order on that worker. Stateless: a resumed
run writes again what came after the snapshot (at-least-once).

A :class:`FixedPartitionedSink` has named partitions, each with a state
kept in snapshots: a resumed run reopens each partition from it, so a
partition that can take back what it wrote after the snapshot (a file
truncated back) is exactly-once.
"""

from abc import ABC, abstractmethod
from typing import Generic, List, Optional, TypeVar
from zlib import adler32

X = TypeVar("X")
S = TypeVar("S")


class StatefulSinkPartition(ABC, Generic[X, S]):
    """One partition of a :class:`FixedPartitionedSink`."""

    @abstractmethod
    def write_batch(self, values: List[X]) -> None:
        """Writes the values routed to this partition, in order."""

    @abstractmethod
    def snapshot(self) -> S:
        """Makes what was written durable and returns the state to resume
        from (given back to ``build_part``)."""

    def close(self) -> None:
        """Called once, at the end of the input."""


class FixedPartitionedSink(ABC, Generic[X, S]):
    """An output with a fixed list of named partitions; takes ``(key,
    value)`` items and writes each value to partition ``part_fn(key) %
    len(list_parts())``."""

    @abstractmethod
    def list_parts(self) -> List[str]:
        """The partitions' names."""

    def part_fn(self, item_key: str) -> int:
        """The partition index of a key, before ``%`` (default: Adler-32
        of its UTF-8 bytes, the same in every process and run)."""
        return adler32(item_key.encode())

    @abstractmethod
    def build_part(self, step_id: str, for_part: str, resume_state: Optional[S]) -> StatefulSinkPartition[X, S]:
        """Opens partition ``for_part`` (``resume_state``: its state at the
        snapshot resumed from, or ``None``)."""


class StatelessSinkPartition(ABC, Generic[X]):
    """One worker's writer of a :class:`DynamicSink`."""

    @abstractmethod
    def write_batch(self, items: List[X]) -> None:
        """Writes a batch of items."""

    def close(self) -> None:
        """Called once, at the end of the input."""


class DynamicSink(ABC, Generic[X]):
    """An output with one writer per worker."""

    @abstractmethod
    def build(self, step_id: str, worker_index: int, worker_count: int) -> StatelessSinkPartition[X]:
        """Opens worker ``worker_index``'s writer."""


__all__ = ["DynamicSink", "StatelessSinkPartition", "FixedPartitionedSink", "StatefulSinkPartition"]
