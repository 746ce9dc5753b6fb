"""Crash recovery, with Bytewax's names (``bytewax.recovery``).

A run given a :class:`RecoveryConfig` snapshots its state (every step's
per-key state, Python values pickled; each input's position; each
output's) into one SQLite store in ``db_dir`` every ``epoch_interval``.
A run started again with the same directory resumes from the last
complete snapshot, with any number of workers and processes: outputs that
can take back what they wrote after it (files) are cut back to it, others
(stdout, Python ``DynamicSink``) see those items again.

Create the store once with ``python -m eddy.recovery DIR`` (Bytewax's
``part_count`` argument is accepted and ignored: eddy keeps one store).
"""

import argparse
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import List, Optional, Union

from eddy import _eddy


@dataclass(frozen=True)
class RecoveryConfig:
    """Where snapshots go (``db_dir``, made by :func:`init_db_dir`), and how
    long an older snapshot is kept after a newer one is complete
    (``backup_interval``: time to copy the store elsewhere)."""

    db_dir: Union[str, Path]
    backup_interval: Optional[timedelta] = None


def init_db_dir(db_dir: Union[str, Path], count: int = 1) -> Path:
    """Creates an empty recovery store in ``db_dir`` (made if missing) and
    returns its file. ``count`` is Bytewax's partition count, ignored
    (one store holds every worker's state). A store already there is an
    error: it may hold a run's state."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    return Path(_eddy.init_store(os.fspath(db_dir)))


def _check(config: RecoveryConfig) -> str:
    if not isinstance(config, RecoveryConfig):
        raise TypeError(f"recovery_config must be a RecoveryConfig, got {type(config).__name__}")
    db_dir = os.fspath(config.db_dir)
    store = _eddy.store_file(db_dir)
    if not os.path.isfile(store):
        raise FileNotFoundError(
            f"no recovery store in {db_dir} (expected {store}); create one with "
            f"`python -m eddy.recovery {db_dir}` (or eddy.recovery.init_db_dir)"
        )
    return db_dir


def main(argv: Optional[List[str]] = None) -> None:
    """``python -m eddy.recovery DIR [PART_COUNT]``."""
    parser = argparse.ArgumentParser(
        prog="python -m eddy.recovery", description="Creates an empty recovery store."
    )
    parser.add_argument("db_dir", type=Path, help="the recovery directory (made if missing)")
    parser.add_argument(
        "part_count", type=int, nargs="?", default=1, help="Bytewax's partition count (ignored)"
    )
    args = parser.parse_args(argv)
    try:
        print(init_db_dir(args.db_dir, args.part_count))
    except (RuntimeError, OSError, ValueError) as e:
        raise SystemExit(f"eddy.recovery: {e}") from None


__all__ = ["RecoveryConfig", "init_db_dir"]

if __name__ == "__main__":
    main()
