"""Files, with Bytewax's classes (``bytewax.connectors.files``).

Inputs read lines (or CSV rows) and keep each file's byte offset in
snapshots: a resumed run reads on from it. Outputs write ``(key, str)``
items, one file per partition, and keep each file's length: a resumed run
cuts the file back to it, so a recovered run's files hold each line once.
A fresh run empties its output files.
"""

import csv
import io
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union
from zlib import adler32

from eddy.inputs import FixedPartitionedSource, StatefulSourcePartition
from eddy.outputs import FixedPartitionedSink, StatefulSinkPartition

PathLike = Union[str, Path]


def _fs_id(path: Path) -> str:
    # The device of the file system: two workers that see the same file
    # through the same mount read it once.
    return hex(path.stat().st_dev)


class _LineReader(StatefulSourcePartition[str, int]):
    """A file's lines from a byte offset, ``batch_size`` at a time."""

    def __init__(self, path: Path, batch_size: int, offset: Optional[int]) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed by close()
        if offset:
            self._f.seek(offset)
        self._batch_size = batch_size
        self._path = path

    def next_batch(self) -> List[str]:
        lines = []
        for _ in range(self._batch_size):
            raw = self._f.readline()
            if not raw:
                break
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"{self._path}: a line at byte {self._f.tell() - len(raw)} is not UTF-8: {e}") from None
            lines.append(text[:-2] if text.endswith("\r\n") else text.rstrip("\n"))
        if not lines:
            raise StopIteration
        return lines

    def snapshot(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()


class FileSource(FixedPartitionedSource[str, int]):
    """The lines of one file (without their line ends), read by one worker,
    ``batch_size`` per batch. ``get_fs_id(directory)`` names the file
    system, so that processes that share it read the file once."""

    def __init__(
        self, path: PathLike, batch_size: int = 1000, get_fs_id: Callable[[Path], str] = _fs_id
    ) -> None:
        self._path = Path(path)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._batch_size = batch_size
        self._get_fs_id = get_fs_id

    def list_parts(self) -> List[str]:
        if not self._path.exists():
            return []
        fs = self._get_fs_id(self._path.parent)
        if "::" in fs:
            raise ValueError(f"get_fs_id must not return '::', got {fs!r}")
        return [f"{fs}::{self._path}"]

    def build_part(self, step_id: str, for_part: str, resume_state: Optional[int]) -> _LineReader:
        return _LineReader(self._path, self._batch_size, resume_state)


class DirSource(FixedPartitionedSource[str, int]):
    """The lines of every file of ``dir_path`` matching ``glob_pat``: a
    partition per file, spread over the workers."""

    def __init__(
        self,
        dir_path: PathLike,
        glob_pat: str = "*",
        batch_size: int = 1000,
        get_fs_id: Callable[[Path], str] = _fs_id,
    ) -> None:
        self._dir = Path(dir_path)
        if not self._dir.is_dir():
            raise ValueError(f"input directory {str(self._dir)!r} does not exist or is not a directory")
        self._glob = glob_pat
        self._batch_size = batch_size
        self._fs = get_fs_id(self._dir)
        if "::" in self._fs:
            raise ValueError(f"get_fs_id must not return '::', got {self._fs!r}")

    def list_parts(self) -> List[str]:
        files = sorted(p for p in self._dir.glob(self._glob) if p.is_file())
        return [f"{self._fs}::{p.relative_to(self._dir)}" for p in files]

    def build_part(self, step_id: str, for_part: str, resume_state: Optional[int]) -> _LineReader:
        _fs, name = for_part.split("::", 1)
        return _LineReader(self._dir / name, self._batch_size, resume_state)


class _CsvReader(StatefulSourcePartition[Dict[str, str], int]):
    """A CSV file's rows as dicts by the header's names."""

    def __init__(self, path: Path, batch_size: int, offset: Optional[int], fmtparams: Dict[str, Any]) -> None:
        self._lines = _LineReader(path, batch_size, None)
        header = self._lines._f.readline().decode("utf-8")
        self._fields = next(csv.reader([header], **fmtparams), [])
        if offset:
            self._lines._f.seek(offset)
        self._fmt = fmtparams

    def next_batch(self) -> List[Dict[str, str]]:
        # Rows are read a line at a time (a quoted field with a line end
        # inside is not supported), so that the offset is exact.
        lines = self._lines.next_batch()
        rows = csv.reader(lines, **self._fmt)
        return [dict(zip(self._fields, row)) for row in rows if row]

    def snapshot(self) -> int:
        return self._lines.snapshot()

    def close(self) -> None:
        self._lines.close()


class CSVSource(FixedPartitionedSource[Dict[str, str], int]):
    """The rows of a CSV file as ``{column: value}`` dicts (the first line
    names the columns); ``fmtparams`` go to :func:`csv.reader`."""

    def __init__(
        self,
        path: PathLike,
        batch_size: int = 1000,
        get_fs_id: Callable[[Path], str] = _fs_id,
        **fmtparams: Any,
    ) -> None:
        self._file = FileSource(path, batch_size, get_fs_id)
        self._fmt = fmtparams

    def list_parts(self) -> List[str]:
        return self._file.list_parts()

    def build_part(self, step_id: str, for_part: str, resume_state: Optional[int]) -> _CsvReader:
        return _CsvReader(self._file._path, self._file._batch_size, resume_state, self._fmt)


class _LineWriter(StatefulSinkPartition[str, int]):
    """A file written line by line; its length is its state."""

    def __init__(self, path: Path, length: Optional[int], end: str) -> None:
        self._f = open(path, "ab")  # noqa: SIM115 - closed by close()
        # A fresh run starts the file empty; a resumed one cuts it back to
        # what the snapshot had.
        self._f.truncate(length or 0)
        self._f.seek(0, io.SEEK_END)
        self._end = end
        self._path = path

    def write_batch(self, values: List[str]) -> None:
        out = []
        for v in values:
            if not isinstance(v, str):
                raise TypeError(f"{self._path}: a file sink writes str values, got {v!r} (map them to str first)")
            out.append(v)
            out.append(self._end)
        self._f.write("".join(out).encode("utf-8"))
        self._f.flush()

    def snapshot(self) -> int:
        self._f.flush()
        os.fsync(self._f.fileno())
        return self._f.tell()

    def close(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()


class FileSink(FixedPartitionedSink[str, int]):
    """Writes the values of ``(key, str)`` items to one file, each followed
    by ``end``."""

    def __init__(self, path: PathLike, end: str = "\n") -> None:
        self._path = Path(path)
        self._end = end

    def list_parts(self) -> List[str]:
        return [str(self._path)]

    def part_fn(self, item_key: str) -> int:
        return 0

    def build_part(self, step_id: str, for_part: str, resume_state: Optional[int]) -> _LineWriter:
        return _LineWriter(self._path, resume_state, self._end)


class DirSink(FixedPartitionedSink[str, int]):
    """Writes the values of ``(key, str)`` items to ``file_count`` files in
    ``dir_path``, named by ``file_namer(index, count)``; a key's values go
    to file ``assign_file(key) % file_count``."""

    def __init__(
        self,
        dir_path: PathLike,
        file_count: int,
        file_namer: Callable[[int, int], str] = lambda i, _n: f"part_{i}",
        assign_file: Callable[[str], int] = lambda k: adler32(k.encode()),
        end: str = "\n",
    ) -> None:
        if file_count < 1:
            raise ValueError(f"file_count must be at least 1, got {file_count}")
        self._dir = Path(dir_path)
        self._count = file_count
        self._namer = file_namer
        self._assign = assign_file
        self._end = end

    def list_parts(self) -> List[str]:
        return [self._namer(i, self._count) for i in range(self._count)]

    def part_fn(self, item_key: str) -> int:
        return self._assign(item_key)

    def build_part(self, step_id: str, for_part: str, resume_state: Optional[int]) -> _LineWriter:
        return _LineWriter(self._dir / for_part, resume_state, self._end)


__all__ = ["FileSource", "DirSource", "CSVSource", "FileSink", "DirSink"]
