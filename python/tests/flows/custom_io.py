"""Python-written inputs and outputs, in Bytewax's API: a partitioned
source (two named partitions, one with an empty batch before its items)
and a dynamic sink writing each batch's items to stdout."""

import os
from datetime import datetime, timedelta, timezone

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from bytewax.outputs import DynamicSink, StatelessSinkPartition


class Counting(StatefulSourcePartition):
    def __init__(self, name, n, idle_first):
        self.items = [f"{name}-{i}" for i in range(n)]
        self.idle = idle_first

    def next_batch(self):
        if self.idle:
            self.idle = False
            return []
        if not self.items:
            raise StopIteration()
        batch, self.items = self.items[:2], self.items[2:]
        return batch

    def next_awake(self):
        return datetime.now(timezone.utc) + timedelta(milliseconds=5)

    def snapshot(self):
        return None


class TwoParts(FixedPartitionedSource):
    def list_parts(self):
        return ["left", "right"]

    def build_part(self, step_id, for_part, resume_state):
        return Counting(for_part, 5 if for_part == "left" else 3, for_part == "right")


class Printer(StatelessSinkPartition):
    def write_batch(self, items):
        # One write(2) per batch (under PIPE_BUF): the writers of two
        # workers cannot mix their lines, as print's separate writes can.
        os.write(1, "".join(f"{item}\n" for item in items).encode())


class PrintSink(DynamicSink):
    def build(self, step_id, worker_index, worker_count):
        return Printer()


flow = Dataflow("custom")
s = op.input("inp", flow, TwoParts())
op.output("out", op.map("upper", s, str.upper), PrintSink())
