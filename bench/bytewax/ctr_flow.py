"""Bytewax 0.21.1 version of the search-session CTR pipeline, for benchmarks.

The dataflow of Bytewax's tutorial "Building Sessions from Search Logs",
adapted to read the JSON Lines log of ``docs/input-format.md`` from a file and to
write the JSON Lines rows of ``docs/sessions.md``:

    input (FileSource) -> parse (skip invalid / unknown lines) -> key_on user
    -> collect_window(EventClock(time, wait 10 s), SessionWindower(gap 30 min))
    -> metrics -> output (JSON Lines file)

Tuned as a Bytewax user would: the file is read in batches of 1000 lines
(``FileSource(batch_size=1000)``, also 0.21's default) and the sink is a
buffered file that does not fsync every batch (Bytewax's ``FileSink`` does).
Only the windows' ``down`` stream is used.

Run it with::

    CTR_INPUT=events.jsonl CTR_OUTPUT=rows.jsonl \\
        python -m bytewax.run bench/bytewax/ctr_flow:flow

Optional: ``CTR_GAP_S`` (default 1800) and ``CTR_WAIT_S`` (default 10).
Counts of invalid and "other" lines go to stderr at the end.

Validation rules are the ones ``bench/baseline`` applies (see its module
docs), so that the two can be compared row for row.
"""

import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, List, Optional, Tuple

import bytewax.operators as op
import bytewax.operators.windowing as win
from bytewax.connectors.files import FileSource
from bytewax.dataflow import Dataflow
from bytewax.operators.windowing import EventClock, SessionWindower
from bytewax.outputs import DynamicSink, StatelessSinkPartition

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
EPOCH_NAIVE = datetime(1970, 1, 1)
ONE_MS = timedelta(milliseconds=1)
MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

KINDS = {
    "app_open": "app_open",
    "AppOpen": "app_open",
    "search": "search",
    "Search": "search",
    "results": "results",
    "Results": "results",
    "click_result": "click_result",
    "ClickResult": "click_result",
    "app_close": "app_close",
    "AppClose": "app_close",
    "timeout": "timeout",
    "Timeout": "timeout",
}

RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)

COUNTS = {"lines": 0, "invalid": 0, "other": 0}

# An event: (user, time in ms since the epoch, kind, input sequence number).
Event = Tuple[str, int, str, int]


def parse_time_ms(value: Any) -> Optional[int]:
    """RFC 3339 string or integer ms -> ms since the epoch, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if MIN_MS <= value <= MAX_MS else None
    if not isinstance(value, str):
        return None
    m = RFC3339.fullmatch(value)
    if m is None:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    except ValueError:
        return None
    ms = (naive - EPOCH_NAIVE) // ONE_MS
    if frac:
        ms += int((frac + "00")[:3])
    if tz not in ("Z", "z"):
        oh, om = int(tz[1:3]), int(tz[4:6])
        if oh > 23 or om > 59:
            return None
        off = (oh * 60 + om) * 60_000
        ms -= off if tz[0] == "+" else -off
    return ms if MIN_MS <= ms <= MAX_MS else None


def _is_str_or_absent(obj: dict, field: str) -> bool:
    v = obj.get(field)
    return v is None or isinstance(v, str)


def parse(line: str) -> Optional[Event]:
    """One input line -> an event, or None (blank, invalid, other)."""
    if not line.strip():
        return None
    COUNTS["lines"] += 1
    seq = COUNTS["lines"]
    try:
        obj = json.loads(line)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        COUNTS["invalid"] += 1
        return None
    kind, user, time = obj.get("type"), obj.get("user"), obj.get("time")
    items = obj.get("items")
    fields_ok = (
        isinstance(kind, str)
        and isinstance(user, (str, int))
        and not isinstance(user, bool)
        and _is_str_or_absent(obj, "query")
        and _is_str_or_absent(obj, "item")
        and (items is None or (isinstance(items, list) and all(isinstance(i, str) for i in items)))
    )
    ms = parse_time_ms(time) if fields_ok else None
    if ms is None:
        COUNTS["invalid"] += 1
        return None
    known = KINDS.get(kind)
    if known is None:
        COUNTS["other"] += 1
        return None
    required = {"search": "query", "results": "items", "click_result": "item"}.get(known)
    if required is not None and obj.get(required) is None:
        COUNTS["invalid"] += 1
        return None
    return (str(user), ms, known, seq)


def event_time(event: Event) -> datetime:
    return EPOCH + timedelta(milliseconds=event[1])


def fmt_time(ms: int) -> str:
    dt = EPOCH + timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def calc_ctr(key_window: Tuple[str, Tuple[int, List[Event]]]) -> Optional[Tuple[str, str]]:
    """A closed session -> its JSON Lines row (None when it has no search)."""
    user, (_window_id, events) = key_window
    events = sorted(events, key=lambda e: (e[1], e[3]))
    searches = clicks = with_click = 0
    current = None  # True/False while inside a search: clicked yet?
    for _user, _ms, kind, _seq in events:
        if kind == "search":
            searches += 1
            current = False
        elif kind == "click_result":
            clicks += 1
            if current is False:
                with_click += 1
                current = True
    if searches == 0:
        return None
    row = {
        "user": user,
        "session_start": fmt_time(events[0][1]),
        "session_end": fmt_time(events[-1][1]),
        "events": len(events),
        "searches": searches,
        "clicks": clicks,
        "searches_with_click": with_click,
        "ctr": with_click / searches,
        "clicks_per_search": clicks / searches,
    }
    return (user, json.dumps(row, separators=(",", ":"), ensure_ascii=False))


class _LinesPartition(StatelessSinkPartition):
    def __init__(self, path: str):
        self._f = open(path, "w", buffering=1 << 16)

    def write_batch(self, items: List[Tuple[str, str]]) -> None:
        self._f.writelines(line + "\n" for _key, line in items)

    def close(self) -> None:
        self._f.close()
        print(
            f"bytewax: {COUNTS['lines']} lines, {COUNTS['invalid']} invalid, "
            f"{COUNTS['other']} other",
            file=sys.stderr,
        )


class LinesSink(DynamicSink):
    """Buffered JSON Lines file (no fsync per batch, unlike FileSink)."""

    def __init__(self, path: str):
        self._path = path

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _LinesPartition:
        path = self._path if worker_count == 1 else f"{self._path}.{worker_index}"
        return _LinesPartition(path)


def build_flow(inp: str, out: str, gap: timedelta, wait: timedelta) -> Dataflow:
    flow = Dataflow("search_ctr")
    lines = op.input("inp", flow, FileSource(inp, batch_size=1000))
    events = op.filter_map("parse", lines, parse)
    by_user = op.key_on("user_event", events, lambda e: e[0])
    clock = EventClock(event_time, wait_for_system_duration=wait)
    windows = win.collect_window("windowed_data", by_user, clock, SessionWindower(gap=gap))
    rows = op.filter_map("calc_ctr", windows.down, calc_ctr)
    op.output("out", rows, LinesSink(out))
    return flow


flow = build_flow(
    os.environ.get("CTR_INPUT", "events.jsonl"),
    os.environ.get("CTR_OUTPUT", "rows.jsonl"),
    timedelta(seconds=float(os.environ.get("CTR_GAP_S", "1800"))),
    timedelta(seconds=float(os.environ.get("CTR_WAIT_S", "10"))),
)
