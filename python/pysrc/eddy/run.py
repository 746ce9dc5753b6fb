"""``python -m eddy.run module:flow [-w N] [-i I -a ADDRS | --hostfile F]
[-r DIR [-s SECS] [-b SECS]]``: runs the dataflow that
``module`` (a module name or a ``.py`` file) holds in the variable ``flow``
(or the one named after the colon; ``module:make_flow()`` calls a
function that returns one), as ``bytewax.run`` does."""

import argparse
import importlib
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import List, Optional

from eddy.dataflow import Dataflow
from eddy.recovery import RecoveryConfig
from eddy.testing import cli_main


def _locate(target: str) -> Dataflow:
    module_name, _, attr = target.partition(":")
    attr = attr or "flow"
    if module_name.endswith(".py") or os.sep in module_name:
        # A file: imported by its name from its folder (as Bytewax does),
        # so that its classes can be pickled, and unpickled in another
        # process that imports it the same way.
        if not os.path.exists(module_name):
            raise SystemExit(f"eddy.run: no file {module_name}")
        folder, name = os.path.split(os.path.abspath(module_name))
        sys.path.insert(0, folder)
        module_name = name[:-3] if name.endswith(".py") else name
    else:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise
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


class _EnvDefault(argparse.Action):
    """An option whose default is the first of ``envvars`` that is set."""

    def __init__(self, envvars: List[str], required: bool = False, default=None, **kwargs) -> None:
        for var in envvars:
            if var in os.environ:
                default = os.environ[var]
                break
        super().__init__(default=default, required=required, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)


def _seconds(text: str) -> timedelta:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"expected zero or more seconds, got {text!r}")
    return timedelta(seconds=seconds)


def _env(name: str) -> List[str]:
    # Eddy's own variable, then Bytewax's.
    return [f"EDDY_{name}", f"BYTEWAX_{name}"]


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Runs a dataflow.")
    parser.add_argument(
        "import_str", help="module:flow (a module or a .py file, and a Dataflow in it, or module:make_flow())"
    )
    scaling = parser.add_argument_group(
        "Scaling", "-w worker threads in this process; -i/-a (or --hostfile) for several processes"
    )
    scaling.add_argument(
        "-w", "--workers-per-process", type=int, action=_EnvDefault, envvars=_env("WORKERS_PER_PROCESS"),
        help="worker threads in each process (default 1)",
    )
    scaling.add_argument(
        "-i", "--process-id", type=int, action=_EnvDefault, envvars=_env("PROCESS_ID"),
        help="this process's index in the addresses",
    )
    scaling.add_argument(
        "-a", "--addresses", action=_EnvDefault, envvars=_env("ADDRESSES"),
        help='host:port of every process, in process-id order, separated by ";"',
    )
    scaling.add_argument(
        "--hostfile", type=Path, action=_EnvDefault, envvars=_env("HOSTFILE_PATH"),
        help="a file with the address of each process, one per line (instead of -a)",
    )
    recovery = parser.add_argument_group("Recovery", "see python -m eddy.recovery")
    recovery.add_argument(
        "-r", "--recovery-directory", type=Path, action=_EnvDefault, envvars=_env("RECOVERY_DIRECTORY"),
        help="the recovery store's directory (made by python -m eddy.recovery DIR)",
    )
    recovery.add_argument(
        "-s", "--snapshot-interval", type=_seconds, action=_EnvDefault, envvars=_env("SNAPSHOT_INTERVAL"),
        help="seconds between snapshots (default 10)",
    )
    recovery.add_argument(
        "-b", "--backup-interval", type=_seconds, action=_EnvDefault, envvars=_env("RECOVERY_BACKUP_INTERVAL"),
        help="seconds an older snapshot is kept after a newer one (default 0)",
    )
    return parser


def main(argv: Optional[List[str]] = None, prog: str = "python -m eddy.run") -> None:
    """The command line."""
    parser = _parser(prog)
    args = parser.parse_args(argv)
    # Values from the environment arrive as text.
    workers = int(args.workers_per_process or 1)
    if workers < 1:
        parser.error("-w must be at least 1")
    addresses = None
    if args.addresses:
        addresses = [a.strip() for a in str(args.addresses).split(";") if a.strip()]
    elif args.hostfile:
        try:
            text = Path(args.hostfile).read_text()
        except OSError as e:
            parser.error(f"cannot read the hostfile: {e}")
        addresses = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    process_id = None if args.process_id is None else int(args.process_id)
    if addresses is not None and process_id is None:
        parser.error("-a/--hostfile need -i (this process's index in the addresses)")
    if addresses is None and process_id not in (None, 0):
        parser.error("-i needs -a or --hostfile (the address of every process)")
    snapshot = args.snapshot_interval
    backup = args.backup_interval
    if isinstance(snapshot, str):
        snapshot = _seconds(snapshot)
    if isinstance(backup, str):
        backup = _seconds(backup)
    if args.recovery_directory is None and (snapshot is not None or backup is not None):
        parser.error("-s/-b need -r (a recovery directory)")
    recovery_config = None
    if args.recovery_directory is not None:
        recovery_config = RecoveryConfig(Path(args.recovery_directory), backup)
    flow = _locate(args.import_str)
    try:
        cli_main(
            flow,
            workers_per_process=workers,
            process_id=process_id,
            addresses=addresses,
            epoch_interval=snapshot,
            recovery_config=recovery_config,
        )
    except (RuntimeError, ValueError, FileNotFoundError) as e:
        print(f"{prog.split()[-1]}: {e}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
