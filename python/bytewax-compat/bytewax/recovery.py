"""``bytewax.recovery``: ``RecoveryConfig``, ``init_db_dir`` and
``python -m bytewax.recovery DB_DIR PART_COUNT`` (one store is made; the
count is ignored)."""

from eddy.recovery import RecoveryConfig, init_db_dir, main

__all__ = ["RecoveryConfig", "init_db_dir"]

if __name__ == "__main__":
    main()
