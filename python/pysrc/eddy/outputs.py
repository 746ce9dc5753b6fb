"""Python-written outputs, with Bytewax's classes (``bytewax.outputs``).

A :class:`DynamicSink` has one writer per worker: each worker writes the
items that reach it, in their order on that worker.
"""

from abc import ABC, abstractmethod
from typing import Generic, List, TypeVar

X = TypeVar("X")


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


__all__ = ["DynamicSink", "StatelessSinkPartition"]
