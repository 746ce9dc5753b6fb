"""Bytewax's tutorial "Building Sessions from Search Logs", on Eddy.

Run it with ``python -m eddy.run python/examples/search_session.py:flow``
(or ``python python/examples/search_session.py``). It prints::

    User 1: 1 searches, 1 clicks
    User 2: 1 searches, 2 clicks
    ('1', 1.0)
    ('2', 2.0)
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import List

import eddy.operators as op
import eddy.operators.windowing as win
from eddy.connectors.stdio import StdOutSink
from eddy.dataflow import Dataflow
from eddy.operators.windowing import EventClock, SessionWindower
from eddy.testing import TestingSource, run_main


@dataclass
class AppOpen:
    user: int
    time: datetime


@dataclass
class Search:
    user: int
    query: str
    time: datetime


@dataclass
class Results:
    user: int
    items: List[str]
    time: datetime


@dataclass
class ClickResult:
    user: int
    item: str
    time: datetime


@dataclass
class AppClose:
    user: int
    time: datetime


start = datetime(2024, 1, 1, tzinfo=timezone.utc)


def at(seconds: int) -> datetime:
    return start + timedelta(seconds=seconds)


client_events = [
    Search(user=1, query="dogs", time=at(5)),
    Results(user=1, items=["fido", "rover", "buddy"], time=at(6)),
    ClickResult(user=1, item="rover", time=at(7)),
    Search(user=2, query="cats", time=at(5)),
    Results(user=2, items=["fluffy", "burrito", "kathy"], time=at(6)),
    ClickResult(user=2, item="fluffy", time=at(7)),
    ClickResult(user=2, item="kathy", time=at(8)),
]


def user_event(event):
    return str(event.user), event


def calc_ctr(window_out):
    user, (_window_id, search_session) = window_out
    searches = [e for e in search_session if isinstance(e, Search)]
    clicks = [e for e in search_session if isinstance(e, ClickResult)]
    print(f"User {user}: {len(searches)} searches, {len(clicks)} clicks")
    return (user, len(clicks) / len(searches) if searches else 0)


flow = Dataflow("search_ctr")
inp = op.input("inp", flow, TestingSource(client_events))
user_event_map = op.map("user_event", inp, user_event)
event_time_config = EventClock(ts_getter=lambda e: e.time, wait_for_system_duration=timedelta(seconds=1))
clock_config = SessionWindower(gap=timedelta(seconds=10))
window = win.collect_window("windowed_data", user_event_map, clock=event_time_config, windower=clock_config)
calc = op.map("calc_ctr", window.down, calc_ctr)
op.output("output", calc, StdOutSink())

if __name__ == "__main__":
    run_main(flow)
