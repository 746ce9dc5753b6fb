"""Standard output."""

import sys
from typing import Any, List


class StdOutSink:
    """Prints each item (as ``print(item)`` would), from one writer, in the
    run's order. Each batch is one write, so lines printed by other threads
    (an ``inspect`` on another worker) never land inside its lines."""

    def _write(self, items: List[Any]) -> None:
        sys.stdout.write("".join(f"{item}\n" for item in items))
        sys.stdout.flush()
