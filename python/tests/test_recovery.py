"""Recovery of a Python flow: `python -m eddy.run … -r DIR` killed with
SIGKILL mid-run (the moment forced: once its output file has grown past a
point drawn at random), resumed each time with another worker count, ends
with the output of an uninterrupted run: every line once (the file sink is
cut back to the snapshot), each key's state carried over (pickled)."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import python_m

FLOW = '''
import os, time
import eddy.operators as op
from eddy.dataflow import Dataflow
from eddy.connectors.files import FileSource, FileSink

PAUSE = float(os.environ.get("PAUSE", "0"))

class Seen:
    """Per-key state that is not a plain value: pickled into snapshots."""
    def __init__(self):
        self.count = 0
        self.last = None

def parse(line):
    if PAUSE:
        time.sleep(PAUSE)
    user, i = line.split(",")
    return (user, int(i))

def track(state, i):
    state = state or Seen()
    state.count += 1
    previous, state.last = state.last, i
    return state, f"{i},{state.count},{previous}"

flow = Dataflow("resumable")
lines = op.input("in", flow, FileSource("in.txt", batch_size=40))
tracked = op.stateful_map("track", op.map("parse", lines, parse), track)
op.output("out", tracked, FileSink("out.txt"))
'''

EVENTS = 6000


@pytest.fixture
def job(tmp_path):
    rng = random.Random(7)
    (tmp_path / "in.txt").write_text("".join(f"u{rng.randrange(40)},{i}\n" for i in range(EVENTS)))
    (tmp_path / "flow.py").write_text(FLOW)
    return tmp_path


def lines(path):
    try:
        return path.read_text().count("\n")
    except FileNotFoundError:
        return 0


def start(where, workers, pause):
    env = dict(os.environ, PAUSE=str(pause))
    return subprocess.Popen(
        [sys.executable, "-m", "eddy.run", "flow.py:flow", "-w", str(workers), "-r", "rdir", "-s", "0.05"],
        cwd=where,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_at_random_moments_then_resume_with_other_worker_counts(job):
    # The uninterrupted run.
    assert python_m(sys.executable, "eddy.recovery", "rdir", cwd=job).returncode == 0
    done = python_m(sys.executable, "eddy.run", "flow.py:flow", "-w", "2", "-r", "rdir", cwd=job)
    assert done.returncode == 0, done.stderr
    expected = sorted((job / "out.txt").read_text().splitlines())
    assert len(expected) == EVENTS
    (job / "out.txt").unlink()
    for f in (job / "rdir").iterdir():
        f.unlink()
    assert python_m(sys.executable, "eddy.recovery", "rdir", cwd=job).returncode == 0

    rng = random.Random(11)
    kills = 0
    for attempt in range(6):
        workers = [1, 2, 3][attempt % 3]
        run = start(job, workers, pause=0.0005)
        goal = lines(job / "out.txt") + rng.randrange(200, 900)
        while run.poll() is None and lines(job / "out.txt") < goal:
            time.sleep(0.005)
        if run.poll() is not None:
            break  # it finished before this goal: the rest is checked below
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        assert run.returncode == -signal.SIGKILL
        kills += 1
    assert kills >= 3, "the runs ended before they could be killed: slow them down"
    done = python_m(sys.executable, "eddy.run", "flow.py:flow", "-w", "2", "-r", "rdir", "-s", "0.05", cwd=job)
    assert done.returncode == 0, done.stderr
    assert sorted((job / "out.txt").read_text().splitlines()) == expected


def test_a_resume_of_another_flow_is_refused(job):
    assert python_m(sys.executable, "eddy.recovery", "rdir", cwd=job).returncode == 0
    run = start(job, 1, pause=0.0005)
    while run.poll() is None and lines(job / "out.txt") < 300:
        time.sleep(0.005)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    # The same dataflow id with another step: refused, nothing written.
    before = (job / "out.txt").read_bytes()
    text = (job / "flow.py").read_text().replace('op.map("parse"', 'op.map("parse_v2"')
    (job / "flow.py").write_text(text)
    done = python_m(sys.executable, "eddy.run", "flow.py:flow", "-r", "rdir", cwd=job)
    assert done.returncode == 1
    assert "parse_v2" in done.stderr and "other parameters" in done.stderr
    assert (job / "out.txt").read_bytes() == before


def test_a_missing_store_says_how_to_make_one(job):
    done = python_m(sys.executable, "eddy.run", "flow.py:flow", "-r", "nowhere", cwd=job)
    assert done.returncode == 1
    assert "python -m eddy.recovery nowhere" in done.stderr
    assert not (job / "out.txt").exists()


def test_state_not_picklable_stops_the_snapshot_clearly(tmp_path):
    (tmp_path / "flow.py").write_text(
        "import threading\n"
        "import eddy.operators as op\n"
        "from eddy.dataflow import Dataflow\n"
        "from eddy.testing import TestingSource, TestingSink\n"
        "flow = Dataflow('locks')\n"
        "s = op.input('in', flow, TestingSource([('a', 1), ('a', 2)]))\n"
        "s = op.stateful_map('lock', s, lambda st, v: (threading.Lock(), v))\n"
        "op.output('out', s, TestingSink([]))\n"
    )
    assert python_m(sys.executable, "eddy.recovery", "rdir", cwd=tmp_path).returncode == 0
    done = python_m(sys.executable, "eddy.run", "flow.py:flow", "-r", "rdir", cwd=tmp_path)
    assert done.returncode == 1
    assert "cannot pickle '_thread.lock'" in done.stderr
    assert "panicked at" not in done.stderr
