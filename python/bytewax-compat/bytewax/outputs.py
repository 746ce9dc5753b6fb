"""``bytewax.outputs``: Python-written outputs."""

from eddy.outputs import *  # noqa: F401,F403
from eddy.outputs import __all__  # noqa: F401
