"""The object's bytes as a file DuckDB reads: an fsspec filesystem over a range reader.

The query thread asks for byte ranges; ``RangeReader`` fetches them through the namespace, the same
read path GET uses (local blobs, decrypted segments, or the gateway's block cache), so DuckDB reads
what it needs (a CSV as it scans, a Parquet file's footer and the row groups and columns it wants)
and never the whole object at once. A ScanRange becomes a window of the object (``Piece``s), with
the header line in front when the window does not start at 0.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem  # type: ignore[import-untyped]

PROTOCOL = "s3dselect"
BLOCK = 1 << 20  # bytes per read of the object

RangeReader = Callable[[int, int], bytes]  # (offset, length) -> those bytes of the object (fewer only at its end)


class Piece(NamedTuple):
    offset: int  # in the object
    length: int


class Counter:
    """Bytes read from the object (Stats' BytesScanned), shared with the thread reporting progress."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


class View:
    """A file made of pieces of the object, in order."""

    def __init__(self, read: RangeReader, pieces: list[Piece], counter: Counter) -> None:
        self._read = read
        self.pieces = [p for p in pieces if p.length > 0]
        self.size = sum(p.length for p in self.pieces)
        self.counter = counter

    def read(self, start: int, end: int) -> bytes:
        out: list[bytes] = []
        base = 0
        for p in self.pieces:
            lo, hi = max(start, base), min(end, base + p.length)
            if lo < hi:
                data = self._read(p.offset + lo - base, hi - lo)
                self.counter.add(len(data))
                out.append(data)
            base += p.length
            if base >= end:
                break
        return b"".join(out)


class _File(AbstractBufferedFile):  # type: ignore[misc]
    def __init__(self, fs: ViewFileSystem, path: str, view: View) -> None:
        self._view = view
        super().__init__(fs, path, "rb", block_size=BLOCK, cache_type="none", size=view.size)

    def _fetch_range(self, start: int, end: int) -> bytes:
        return self._view.read(start, end)


class ViewFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """One query's filesystem: every path is the one view (DuckDB names it ``s3dselect://object``)."""

    protocol = PROTOCOL

    def __init__(self, view: View) -> None:
        super().__init__(skip_instance_cache=True)
        self.view = view

    def _open(self, path: str, mode: str = "rb", **_kwargs: Any) -> _File:
        if mode != "rb":
            raise PermissionError("read only")
        return _File(self, path, self.view)

    def info(self, path: str, **_kwargs: Any) -> dict[str, Any]:
        return {"name": path, "size": self.view.size, "type": "file"}

    def modified(self, path: str) -> datetime.datetime:
        return UNCHANGED  # one query reads the one version it looked up

    def ls(self, path: str, detail: bool = True, **_kwargs: Any) -> list[Any]:
        return [self.info(path)] if detail else [path]


URL = f"{PROTOCOL}://object"
UNCHANGED = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def first_record_at_or_after(read: RangeReader, size: int, position: int, delimiter: bytes) -> int:
    """The offset of the first record that starts at ``position`` or later (``size`` if none)."""
    if position <= 0:
        return 0
    at = position - 1  # a record starts where the byte before it ends the previous one
    while at < size:
        chunk = read(at, BLOCK)
        if not chunk:
            break
        found = chunk.find(delimiter)
        if found >= 0:
            return at + found + len(delimiter)
        at += len(chunk)
    return size


def scan_window(read: RangeReader, size: int, start: int | None, end: int | None, delimiter: bytes) -> tuple[int, int]:
    """ScanRange's rule: the records that start within [start, end] (inclusive), as [first, stop)."""
    if start is None:  # only End: the last End bytes of the object
        assert end is not None
        start, end = max(0, size - end), size - 1
    elif end is None:
        end = size - 1
    first = first_record_at_or_after(read, size, start, delimiter)
    stop = first_record_at_or_after(read, size, min(end, size - 1) + 1, delimiter) if end < size - 1 else size
    return first, max(first, stop)
