"""Standard output."""

from typing import Any, List


class StdOutSink:
    """Prints each item (``print(item)``), from one writer, in the run's
    order."""

    def _write(self, items: List[Any]) -> None:
        for item in items:
            print(item)
