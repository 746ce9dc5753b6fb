"""``bytewax.dataflow``: the dataflow and its streams."""

from eddy.dataflow import Dataflow, Stream

KeyedStream = Stream
"""A stream of ``(str key, value)`` 2-tuples (in Eddy, any such stream)."""

__all__ = ["Dataflow", "Stream", "KeyedStream"]
