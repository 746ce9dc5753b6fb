"""``bytewax.operators``: the operators, by Bytewax's names."""

from eddy.operators import *  # noqa: F401,F403
from eddy.operators import __all__ as _eddy_all
from bytewax.dataflow import KeyedStream  # noqa: F401

__all__ = list(_eddy_all) + ["KeyedStream"]
