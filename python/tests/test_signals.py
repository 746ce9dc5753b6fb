"""Ctrl-C on a run whose input never ends: the run stops, what the output
took is kept, and Python gets its KeyboardInterrupt; with 1 and 2
workers. The signal is sent once the first row is out (forced, not
timed); the 60 s limit is a hang guard."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

ENDLESS = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone

    import eddy.operators as op
    from eddy import Dataflow
    from eddy.inputs import DynamicSource, StatelessSourcePartition
    from eddy.testing import TestingSink, run_main

    class Ticks(StatelessSourcePartition):
        def __init__(self, worker):
            self.worker, self.n = worker, 0

        def next_batch(self):
            self.n += 1
            return [(self.worker, self.n)] if self.n <= 3 else []

        def next_awake(self):
            return datetime.now(timezone.utc) + timedelta(milliseconds=20)

    class Endless(DynamicSource):
        def build(self, step_id, worker_index, worker_count):
            return Ticks(worker_index)

    def show(item):
        print("row", item, flush=True)

    rows = []
    flow = Dataflow("endless")
    s = op.input("inp", flow, Endless())
    op.output("out", op.map("show", s, lambda x: (show(x), x)[1]), TestingSink(rows))
    try:
        run_main(flow, workers=int(sys.argv[1]))
    except KeyboardInterrupt:
        print("kept", len(rows), flush=True)
        raise
    """
)


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_an_endless_run_and_keeps_what_was_written(tmp_path, workers):
    script = tmp_path / "endless.py"
    script.write_text(ENDLESS)
    child = subprocess.Popen(
        [sys.executable, str(script), str(workers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = child.stdout.readline()
        assert first.startswith("row"), first + child.stderr.read()
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert "KeyboardInterrupt" in err, err
    kept = [line for line in (first + out).splitlines() if line.startswith("kept")]
    assert kept and int(kept[0].split()[1]) >= 1, out
    assert child.returncode != 0
