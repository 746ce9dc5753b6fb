"""``bytewax.operators.windowing``: clocks, windowers, window operators."""

from eddy.operators.windowing import *  # noqa: F401,F403
from eddy.operators.windowing import __all__  # noqa: F401
