"""The seed tutorial's flow, in Bytewax's API, on generated events: the
Python front's throughput. Run the same file under Bytewax itself and
under Eddy's compatibility package (bench/python.sh does both):

    python bench/python_tutorial.py EVENTS USERS [WORKERS]

Prints one line: `events EVENTS users USERS workers W seconds S
events_per_s R rows N max_rss_mb M`. With PLAIN=1: the same work in one
plain Python loop (the floor of the Python work); with PICKLE=1: the cost
of pickling each (key, event) there and back (what a value pays to cross
processes). The events are built in memory first
(not timed); the flow is the tutorial's: key by user, session windows
(gap 10 s, wait 1 s) collecting the events, then clicks per search per
session, into a TestingSink."""

import os
import random
import resource
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import bytewax.operators as op
import bytewax.operators.windowing as win
from bytewax.dataflow import Dataflow
from bytewax.operators.windowing import EventClock, SessionWindower
from bytewax.testing import TestingSink, TestingSource


@dataclass
class Search:
    user: int
    query: str
    time: datetime


@dataclass
class Results:
    user: int
    items: list
    time: datetime


@dataclass
class ClickResult:
    user: int
    item: str
    time: datetime


def events(n, users, seed=7):
    """`n` events of `users` users in time order: each user's visits are a
    search, its results and 0–2 clicks, a second apart; visits of one user
    are minutes apart (so each is a session)."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    out = []
    t = 0
    while len(out) < n:
        user = rng.randrange(users)
        at = start + timedelta(milliseconds=t)
        out.append(Search(user, "q%d" % rng.randrange(1000), at))
        out.append(Results(user, ["a", "b", "c"], at + timedelta(seconds=1)))
        for c in range(rng.randrange(3)):
            out.append(ClickResult(user, "b", at + timedelta(seconds=2 + c)))
        t += 40
    del out[n:]
    out.sort(key=lambda e: e.time)
    return out


def calc_ctr(window_out):
    user, (_window_id, session) = window_out
    searches = sum(1 for e in session if isinstance(e, Search))
    clicks = sum(1 for e in session if isinstance(e, ClickResult))
    return (user, clicks / searches if searches else 0)


BATCH = int(os.environ.get("BATCH", "1"))


def plain(evs, key, ts, gap, wait):
    """The same work in one plain Python loop: the flow's callbacks (key,
    time, calc_ctr) and a dict of each user's open session, closed when
    the next event is more than `gap` later or at the end. The Python
    work's floor (no engine); `wait` is not needed on time-ordered input."""
    open_, rows = {}, []
    for e in evs:
        k, t = key(e), ts(e)
        s = open_.get(k)
        if s is not None and t - s[0] > gap:
            rows.append(calc_ctr((k, (0, s[1]))))
            s = None
        if s is None:
            open_[k] = s = [t, []]
        s[0] = t
        s[1].append(e)
    rows.extend(calc_ctr((k, (0, s[1]))) for k, s in open_.items())
    return rows


def main():
    n, users = int(sys.argv[1]), int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    evs = events(n, users)
    if os.environ.get("PLAIN") == "1":
        began = time.perf_counter()
        rows = plain(evs, lambda e: str(e.user), lambda e: e.time, timedelta(seconds=10), timedelta(seconds=1))
        seconds = time.perf_counter() - began
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"plain python events {n} users {users} seconds {seconds:.2f} "
            f"events_per_s {n / seconds:.0f} rows {len(rows)} max_rss_mb {rss:.0f}"
        )
        return
    if os.environ.get("PICKLE") == "1":
        import pickle

        began = time.perf_counter()
        for e in evs:
            pickle.loads(pickle.dumps((str(e.user), e)))
        seconds = time.perf_counter() - began
        print(f"pickle round trip of (key, event): {seconds / n * 1e6:.2f} us per event")
        return
    flow = Dataflow("search_ctr")
    # BATCH: TestingSource's batch_size (Bytewax's default is 1; a user
    # tuning Bytewax raises it). Eddy's source batches by itself.
    inp = op.input("inp", flow, TestingSource(evs, batch_size=BATCH))
    keyed = op.key_on("user_event", inp, lambda e: str(e.user))
    clock = EventClock(ts_getter=lambda e: e.time, wait_for_system_duration=timedelta(seconds=1))
    window = win.collect_window("windowed_data", keyed, clock, SessionWindower(gap=timedelta(seconds=10)))
    rows = []
    op.output("out", op.map("calc_ctr", window.down, calc_ctr), TestingSink(rows))
    began = time.perf_counter()
    if workers == 1:
        from bytewax.testing import run_main

        run_main(flow)
    else:
        from eddy.testing import run_main as eddy_run_main

        eddy_run_main(flow, workers=workers)
    seconds = time.perf_counter() - began
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"events {n} users {users} workers {workers} batch {BATCH} seconds {seconds:.2f} "
        f"events_per_s {n / seconds:.0f} rows {len(rows)} max_rss_mb {rss:.0f}"
    )


if __name__ == "__main__":
    main()
