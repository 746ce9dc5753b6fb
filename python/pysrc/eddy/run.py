"""``python -m eddy.run module:flow [-w N]``: runs the dataflow that
``module`` (a module name or a ``.py`` file) holds in the variable ``flow``
(or the one named after the colon; ``module:make_flow()`` calls a
function that returns one), as ``bytewax.run`` does."""

import argparse
import importlib
import importlib.util
import os
import sys
from typing import List, Optional

from eddy.dataflow import Dataflow
from eddy.testing import run_main


def _locate(target: str) -> Dataflow:
    module_name, _, attr = target.partition(":")
    attr = attr or "flow"
    if module_name.endswith(".py") or os.sep in module_name:
        if not os.path.exists(module_name):
            raise SystemExit(f"eddy.run: no file {module_name}")
        spec = importlib.util.spec_from_file_location("__eddy_flow__", module_name)
        if spec is None or spec.loader is None:
            raise SystemExit(f"eddy.run: cannot import {module_name}")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, os.path.dirname(os.path.abspath(module_name)))
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            raise SystemExit(f"eddy.run: cannot import {module_name!r}: {e}") from None
    call = attr.endswith("()")
    name = attr[:-2] if call else attr
    try:
        found = getattr(module, name)
    except AttributeError:
        raise SystemExit(f"eddy.run: {module_name} has no {name!r}") from None
    flow = found() if call else found
    if not isinstance(flow, Dataflow):
        raise SystemExit(f"eddy.run: {target} is a {type(flow).__name__}, not a Dataflow")
    return flow


def main(argv: Optional[List[str]] = None) -> None:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m eddy.run", description="Runs a dataflow in this process."
    )
    parser.add_argument("import_str", help="module:flow (a module or a .py file, and a Dataflow in it)")
    parser.add_argument(
        "-w",
        "--workers-per-process",
        type=int,
        default=1,
        help="worker threads (default 1)",
    )
    args = parser.parse_args(argv)
    if args.workers_per_process < 1:
        parser.error("-w must be at least 1")
    flow = _locate(args.import_str)
    try:
        run_main(flow, workers=args.workers_per_process)
    except RuntimeError as e:
        print(f"eddy.run: {e}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
