"""File inputs and outputs in Bytewax's API: FileSource, CSVSource and
DirSource in, FileSink and DirSink out (the flow writes its own inputs)."""

from pathlib import Path

import bytewax.operators as op
from bytewax.connectors.files import CSVSource, DirSink, DirSource, FileSink, FileSource
from bytewax.connectors.stdio import StdOutSink
from bytewax.dataflow import Dataflow

HERE = Path.cwd()
(HERE / "in_dir").mkdir(exist_ok=True)
(HERE / "out_dir").mkdir(exist_ok=True)
(HERE / "lines.txt").write_text("".join(f"user{i % 5} clicked {i}\n" for i in range(40)) + "last line, no end")
(HERE / "table.csv").write_text("user,query,clicks\nu1,shoes,2\nu2,hats,0\nu1,socks,1\n")
for n in range(3):
    (HERE / "in_dir" / f"part{n}.log").write_text("".join(f"p{n}-{i}\n" for i in range(4)))

flow = Dataflow("files")
lines = op.input("lines", flow, FileSource(HERE / "lines.txt", batch_size=7))
keyed = op.key_on("user", lines, lambda line: line.split()[0])
op.output("to_file", op.map_value("upper", keyed, str.upper), FileSink(HERE / "out.txt"))
op.output("to_dir", keyed, DirSink(HERE / "out_dir", 3))
rows = op.input("rows", flow, CSVSource(HERE / "table.csv"))
op.output("rows_out", rows, StdOutSink())
parts = op.input("parts", flow, DirSource(HERE / "in_dir", glob_pat="*.log"))
op.output("parts_out", parts, StdOutSink())
