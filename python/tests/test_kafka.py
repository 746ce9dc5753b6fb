"""Kafka from Python, on Apache Kafka itself (`scripts/kafka-broker.sh`,
started by `.ci/run`; EDDY_KAFKA_BOOTSTRAP names it). A flow reads a topic
with `KafkaSource` and writes with `KafkaSink`; a live run (tail=True)
gives rows while the topic stays open and stops on Ctrl-C; a bounded run
(tail=False) ends at the topic's end; a resumed run reads on from the
snapshot's offsets."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from conftest import python_m
from eddy.connectors.kafka import create_topic

BROKER = os.environ.get("EDDY_KAFKA_BOOTSTRAP")
if not BROKER:
    if os.environ.get("CI") == "true":
        raise RuntimeError("EDDY_KAFKA_BOOTSTRAP is not set: .ci/run starts Apache Kafka and sets it")
    pytest.skip("EDDY_KAFKA_BOOTSTRAP is not set (scripts/kafka-broker.sh start prints it)", allow_module_level=True)

FLOW = '''
import os
import bytewax.operators as op
from bytewax.connectors.kafka import KafkaSink, KafkaSinkMessage, KafkaSource
from bytewax.connectors.stdio import StdOutSink
from bytewax.dataflow import Dataflow

B, T_IN, T_OUT = os.environ["BROKER"], os.environ["T_IN"], os.environ["T_OUT"]
TAIL = os.environ.get("TAIL") == "1"

flow = Dataflow("kafka_py")
msgs = op.input("in", flow, KafkaSource([B], [T_IN], tail=TAIL))
pairs = op.map("decode", msgs, lambda m: (m.key.decode(), int(m.value)))
sums = op.stateful_map("sum", pairs, lambda s, v: ((s or 0) + v, (s or 0) + v))
op.output("print", sums, StdOutSink())
out = op.map("encode", sums, lambda kv: KafkaSinkMessage(kv[0].encode(), str(kv[1]).encode()))
op.output("out", out, KafkaSink([B], T_OUT))
'''

PRODUCE = '''
import sys
from eddy.connectors.kafka import KafkaSink, KafkaSinkMessage
import eddy.operators as op
from eddy.dataflow import Dataflow
from eddy.testing import TestingSource, run_main
broker, topic, start, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
flow = Dataflow("produce")
items = [KafkaSinkMessage(f"u{i % 3}".encode(), str(i).encode()) for i in range(start, start + n)]
op.output("out", op.input("in", flow, TestingSource(items)), KafkaSink([broker], topic))
run_main(flow)
'''

READ = '''
import sys
from eddy.connectors.kafka import KafkaSource
import eddy.operators as op
from eddy.dataflow import Dataflow
from eddy.testing import TestingSink, run_main
broker, topic = sys.argv[1], sys.argv[2]
flow = Dataflow("read")
out = []
s = op.input("in", flow, KafkaSource([broker], [topic], tail=False))
op.output("out", op.map("kv", s, lambda m: (m.key.decode(), m.value.decode(), m.partition, m.offset)), TestingSink(out))
run_main(flow)
for row in out:
    print(*row)
'''


def topic(name):
    """A fresh topic of two partitions."""
    t = f"py-{name}-{uuid.uuid4().hex[:8]}"
    assert create_topic([BROKER], t, 2)
    return t


@pytest.fixture
def where(tmp_path):
    (tmp_path / "flow.py").write_text(FLOW)
    (tmp_path / "produce.py").write_text(PRODUCE)
    (tmp_path / "read.py").write_text(READ)
    return tmp_path


def produce(where, t, start, n):
    done = subprocess.run([sys.executable, "produce.py", BROKER, t, str(start), str(n)], cwd=where, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def read(where, t):
    done = subprocess.run([sys.executable, "read.py", BROKER, t], cwd=where, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [line.split() for line in done.stdout.splitlines()]


def env(t_in, t_out, tail):
    return dict(os.environ, BROKER=BROKER, T_IN=t_in, T_OUT=t_out, TAIL="1" if tail else "0")


def expected_sums(n):
    sums, out = {}, []
    for i in range(n):
        k = f"u{i % 3}"
        sums[k] = sums.get(k, 0) + i
        out.append((k, sums[k]))
    return out


def test_a_bounded_run_reads_to_the_end_and_writes_every_row(where):
    t_in, t_out = topic("in"), topic("out")
    produce(where, t_in, 0, 60)
    done = subprocess.run(
        [sys.executable, "-m", "bytewax.run", "flow:flow", "-w", "2"],
        cwd=where, env=env(t_in, t_out, False), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    want = sorted(f"('{k}', {v})" for k, v in expected_sums(60))
    assert sorted(done.stdout.splitlines()) == want
    written = read(where, t_out)
    assert sorted((k, int(v)) for k, v, _p, _o in written) == sorted(expected_sums(60))
    # A key's messages go to one partition, in order.
    for key in ("u0", "u1", "u2"):
        mine = [(int(p), int(o), int(v)) for k, v, p, o in written if k == key]
        assert len({p for p, _o, _v in mine}) == 1
        assert [v for _p, _o, v in sorted(mine)] == sorted(v for _p, _o, v in mine)


def test_a_live_run_gives_rows_as_messages_come_and_stops_on_ctrl_c(where):
    t_in, t_out = topic("live-in"), topic("live-out")
    run = subprocess.Popen(
        [sys.executable, "-m", "eddy.run", "flow:flow"],
        cwd=where, env=env(t_in, t_out, True), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        produce(where, t_in, 0, 6)
        deadline = time.monotonic() + 60
        rows = []
        while len(rows) < 6 and time.monotonic() < deadline:
            rows = read(where, t_out)
            time.sleep(0.2)
        assert sorted((k, int(v)) for k, v, _p, _o in rows) == sorted(expected_sums(6))
        assert run.poll() is None, "a live run ended on its own"
    finally:
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    assert run.returncode != 0 and "KeyboardInterrupt" in err
    assert sorted(out.splitlines()) == sorted(f"('{k}', {v})" for k, v in expected_sums(6))


def live(where, t_in, t_out, workers, rows_wanted):
    """A live run with recovery, stopped with Ctrl-C once `t_out` holds
    `rows_wanted` rows: its stdout."""
    run = subprocess.Popen(
        [sys.executable, "-m", "eddy.run", "flow:flow", "-r", "rdir", "-s", "0.2", "-w", str(workers)],
        cwd=where, env=env(t_in, t_out, True), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(read(where, t_out)) < rows_wanted and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(read(where, t_out)) >= rows_wanted, "the rows did not come"
    finally:
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    assert "KeyboardInterrupt" in err, err
    return out.splitlines()


def test_a_resumed_live_run_reads_on_from_the_snapshot(where):
    t_in, t_out = topic("resume-in"), topic("resume-out")
    assert python_m(sys.executable, "eddy.recovery", "rdir", cwd=where).returncode == 0
    produce(where, t_in, 0, 30)
    first = live(where, t_in, t_out, 2, 30)
    produce(where, t_in, 30, 30)
    second = live(where, t_in, t_out, 1, 60)
    shown = [f"('{k}', {v})" for k, v in expected_sums(60)]
    assert sorted(first) == sorted(shown[:30])
    # The resumed run (another worker count) read on from the offsets of
    # the last snapshot, with each key's sum carried over: every new row,
    # and nothing it could not have made.
    assert set(shown[30:]) <= set(second) <= set(shown)
