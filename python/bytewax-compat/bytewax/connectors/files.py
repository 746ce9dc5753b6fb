"""``bytewax.connectors.files``."""

from eddy.connectors.files import CSVSource, DirSink, DirSource, FileSink, FileSource

__all__ = ["FileSource", "DirSource", "CSVSource", "FileSink", "DirSink"]
