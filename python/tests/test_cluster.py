"""Several processes (`-i`/`-a`, `--hostfile`): the same rows as one
process; values cross processes pickled, and a value that cannot be
pickled stops every process with a message that says so."""

import socket
import subprocess
import sys

FLOW = '''
import eddy.operators as op
from eddy.dataflow import Dataflow
from eddy.testing import TestingSource
from eddy.connectors.stdio import StdOutSink

flow = Dataflow("counts")
s = op.input("in", flow, TestingSource(range(2000)))
k = op.key_on("key", s, lambda x: str(x % 37))
c = op.fold_final("sum", k, lambda: (0, 0), lambda acc, x: (acc[0] + 1, acc[1] + x))
op.output("out", c, StdOutSink())
'''

UNPICKLABLE = '''
import threading
import eddy.operators as op
from eddy.dataflow import Dataflow
from eddy.testing import TestingSource
from eddy.connectors.stdio import StdOutSink

flow = Dataflow("locks")
s = op.input("in", flow, TestingSource(range(100)))
k = op.key_on("key", s, lambda x: str(x % 7))
k = op.map_value("lock", k, lambda x: threading.Lock())
op.output("out", op.count_final("count", k, lambda kv: kv[0]), StdOutSink())
'''


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def cluster(where, flow, *extra):
    """Runs `flow` as two processes of two workers: their finished runs."""
    addresses = ";".join(f"127.0.0.1:{p}" for p in free_ports(2))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "eddy.run", f"{flow}:flow", "-w", "2", "-i", str(i), "-a", addresses, *extra],
            cwd=where,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    return [(p.wait(timeout=120), *p.communicate()) for p in procs]


def test_two_processes_give_the_rows_of_one(tmp_path):
    (tmp_path / "counts.py").write_text(FLOW)
    one = subprocess.run(
        [sys.executable, "-m", "eddy.run", "counts:flow"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert one.returncode == 0, one.stderr
    runs = cluster(tmp_path, "counts")
    assert [rc for rc, _, _ in runs] == [0, 0], runs
    # StdOutSink writes from process 0's first worker alone.
    assert sorted(runs[0][1].splitlines()) == sorted(one.stdout.splitlines())
    assert runs[1][1] == ""
    assert len(one.stdout.splitlines()) == 37


def test_a_hostfile_names_the_processes(tmp_path):
    (tmp_path / "counts.py").write_text(FLOW)
    ports = free_ports(2)
    (tmp_path / "hosts.txt").write_text("".join(f"127.0.0.1:{p}\n" for p in ports))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bytewax.run", "counts:flow", "-i", str(i), "--hostfile", "hosts.txt"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert len(outs[0][0].splitlines()) == 37


def test_a_value_that_cannot_be_pickled_is_named_not_a_crash(tmp_path):
    (tmp_path / "locks.py").write_text(UNPICKLABLE)
    runs = cluster(tmp_path, "locks")
    assert all(rc == 1 for rc, _, _ in runs), runs
    errors = "".join(err for _, _, err in runs)
    assert "a value cannot be pickled" in errors
    assert "cannot pickle '_thread.lock' object" in errors
    assert "panicked at" not in errors  # no Rust panic report
