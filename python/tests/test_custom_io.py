"""Python-written sources and sinks (Bytewax's `FixedPartitionedSource`,
`DynamicSource`, `DynamicSink`), with 1 and 2 workers."""

import threading

import pytest

import eddy.operators as op
from eddy import Dataflow
from eddy.inputs import DynamicSource, FixedPartitionedSource, StatefulSourcePartition, StatelessSourcePartition
from eddy.outputs import DynamicSink, StatelessSinkPartition
from eddy.testing import TestingSink, TestingSource, run_main


class ListPart(StatefulSourcePartition):
    def __init__(self, items, idle_first=False):
        self.items = list(items)
        self.idle = idle_first
        self.closed = False

    def next_batch(self):
        if self.idle:
            self.idle = False
            return []
        if not self.items:
            raise StopIteration()
        return [self.items.pop(0)]

    def snapshot(self):
        return len(self.items)

    def close(self):
        self.closed = True


class Parts(FixedPartitionedSource):
    def __init__(self):
        self.built = {}

    def list_parts(self):
        return ["a", "b", "c"]

    def build_part(self, step_id, for_part, resume_state):
        assert step_id == "inp" and resume_state is None
        part = ListPart([f"{for_part}{i}" for i in range(3)], idle_first=for_part == "b")
        self.built[for_part] = part
        return part


def test_a_partitioned_source_reads_every_partition_in_order(workers):
    flow = Dataflow("io")
    out = []
    source = Parts()
    op.output("out", op.input("inp", flow, source), TestingSink(out))
    run_main(flow, workers=workers)
    assert sorted(out) == sorted(f"{p}{i}" for p in "abc" for i in range(3))
    for p in "abc":
        assert [x for x in out if x[0] == p] == [f"{p}0", f"{p}1", f"{p}2"]
    assert all(part.closed for part in source.built.values())


class PerWorker(DynamicSource):
    def build(self, step_id, worker_index, worker_count):
        class Part(StatelessSourcePartition):
            def __init__(self):
                self.left = [(worker_index, worker_count, i) for i in range(4)]

            def next_batch(self):
                if not self.left:
                    raise StopIteration()
                batch, self.left = self.left[:2], self.left[2:]
                return batch

        return Part()


class Collect(DynamicSink):
    def __init__(self):
        self.lock = threading.Lock()
        self.by_worker = {}
        self.closed = []

    def build(self, step_id, worker_index, worker_count):
        sink = self

        class Part(StatelessSinkPartition):
            def write_batch(self, items):
                with sink.lock:
                    sink.by_worker.setdefault(worker_index, []).extend(items)

            def close(self):
                with sink.lock:
                    sink.closed.append(worker_index)

        return Part()


def test_a_dynamic_source_has_a_partition_per_worker_and_a_dynamic_sink_a_writer(workers):
    flow = Dataflow("io")
    sink = Collect()
    op.output("out", op.input("inp", flow, PerWorker()), sink)
    run_main(flow, workers=workers)
    got = sorted(x for items in sink.by_worker.values() for x in items)
    assert got == sorted((w, workers, i) for w in range(workers) for i in range(4))
    # Without an exchange, each worker writes its own partition's items.
    for w, items in sink.by_worker.items():
        assert {x[0] for x in items} == {w}
    assert sorted(sink.closed) == list(range(workers))


def test_an_exception_in_a_source_partition_is_reported(workers):
    class Broken(FixedPartitionedSource):
        def list_parts(self):
            return ["only"]

        def build_part(self, step_id, for_part, resume_state):
            class Part(StatefulSourcePartition):
                def next_batch(self):
                    raise OSError("the device is gone")

                def snapshot(self):
                    return None

            return Part()

    flow = Dataflow("io")
    op.output("out", op.input("inp", flow, Broken()), TestingSink([]))
    with pytest.raises(RuntimeError, match="the device is gone"):
        run_main(flow, workers=workers)


def test_other_sources_and_sinks_are_refused_when_the_flow_is_written():
    flow = Dataflow("io")
    with pytest.raises(TypeError, match="got int"):
        op.input("inp", flow, 42)
    s = op.input("ok", flow, TestingSource([1]))
    with pytest.raises(TypeError, match="got str"):
        op.output("out", s, "stdout")
