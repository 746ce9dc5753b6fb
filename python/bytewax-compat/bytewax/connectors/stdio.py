"""``bytewax.connectors.stdio``."""

from eddy.connectors.stdio import StdOutSink

__all__ = ["StdOutSink"]
