"""Eddy's Python front: Bytewax's dataflow API on the eddy engine.

Build a :class:`~eddy.dataflow.Dataflow` with the functions of
:mod:`eddy.operators`, then run it with :func:`eddy.testing.run_main` or
``python -m eddy.run module:flow -w N``. The steps run in Rust, on timely
dataflow; Python callbacks hold the GIL only while they run.
"""

from eddy.dataflow import Dataflow, Stream

__all__ = ["Dataflow", "Stream"]
