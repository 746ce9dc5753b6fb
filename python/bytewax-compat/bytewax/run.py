"""``python -m bytewax.run module:flow [-w N] [-i I -a ADDRS] [-r DIR -s S -b S]``:
Eddy's runner under Bytewax's name, with Bytewax's options and
``BYTEWAX_*`` environment variables."""

from typing import List, Optional

from eddy.run import main as _main


def main(argv: Optional[List[str]] = None) -> None:
    """The command line."""
    _main(argv, prog="python -m bytewax.run")


if __name__ == "__main__":
    main()
