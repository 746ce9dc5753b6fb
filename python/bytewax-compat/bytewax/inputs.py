"""``bytewax.inputs``: Python-written inputs."""

from eddy.inputs import *  # noqa: F401,F403
from eddy.inputs import __all__  # noqa: F401
