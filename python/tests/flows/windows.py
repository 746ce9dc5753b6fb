"""Tumbling and session windows with late values, in Bytewax's API."""

from datetime import datetime, timedelta, timezone

import bytewax.operators as op
import bytewax.operators.windowing as win
from bytewax.connectors.stdio import StdOutSink
from bytewax.dataflow import Dataflow
from bytewax.operators.windowing import EventClock, SessionWindower, TumblingWindower
from bytewax.testing import TestingSource

ALIGN = datetime(2024, 1, 1, tzinfo=timezone.utc)
EVENTS = [("a", 1), ("a", 4), ("b", 2), ("a", 13), ("a", 3), ("b", 30), ("a", 25), ("a", 40), ("b", 31)]

flow = Dataflow("wins")
s = op.input("inp", flow, TestingSource(EVENTS))
clock = EventClock(lambda v: ALIGN + timedelta(seconds=v), wait_for_system_duration=timedelta(seconds=0))
tumbling = win.collect_window("tumble", s, clock, TumblingWindower(timedelta(seconds=10), ALIGN))
sessions = win.collect_window("sess", s, clock, SessionWindower(timedelta(seconds=8)))


def plain_meta(item):
    key, (wid, meta) = item
    return (key, wid, meta.open_time.isoformat(), meta.close_time.isoformat())


op.output("t_down", op.map("t_tag", tumbling.down, lambda x: ("tumble", x)), StdOutSink())
op.output("t_late", op.map("t_late_tag", tumbling.late, lambda x: ("tumble-late", x)), StdOutSink())
op.output("t_meta", op.map("t_meta_tag", tumbling.meta, plain_meta), StdOutSink())
op.output("s_down", op.map("s_tag", sessions.down, lambda x: ("session", x[0], x[1][1])), StdOutSink())
op.output("s_late", op.map("s_late_tag", sessions.late, lambda x: ("session-late", x[0], x[1][1])), StdOutSink())
