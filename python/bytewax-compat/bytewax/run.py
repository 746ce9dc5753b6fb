"""``python -m bytewax.run module:flow [-w N]``: Eddy's runner under
Bytewax's name. Clusters (``-i``/``-a``/``--hostfile``) and recovery
(``-r``/``-s``/``-b``) are refused with a message: not supported by Eddy's
Python front yet."""

import sys
from typing import List, Optional

from eddy.run import main as _main

_UNSUPPORTED = ("-i", "--process-id", "-a", "--addresses", "--hostfile", "-r", "--recovery-directory")


def main(argv: Optional[List[str]] = None) -> None:
    """The command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    for a in args:
        if a.split("=", 1)[0] in _UNSUPPORTED:
            raise SystemExit(f"bytewax.run on eddy: {a} is not supported yet (one process, no recovery)")
    _main(args)


if __name__ == "__main__":
    main()
