"""One open path: reads from the object (ranged) until the first change, then from a local staging file that
holds the whole new content and becomes the object on flush (close) or fsync. A file written from empty is staged
in memory while it is small (an untar: no staging file to create, write, read back and remove per file), and moves
to a staging file when it grows past MEMORY_STAGE_MAX or the mount's memory budget.

Every handle open on the same path shares one OpenFile, so they see each other's writes. The object is replaced
only by an upload of the complete staging file: a mount that dies before close leaves the old object as it was.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
import time
from concurrent.futures import Executor
from dataclasses import replace
from pathlib import Path

from s3d.local_read import LocalSpan
from s3d.mount.attrs import META_MTIME, Entry
from s3d.mount.local import LocalReader, open_local
from s3d.mount.objects import Objects
from s3d.mount.reader import BlockCache, BlockPool, ReaderClosed, ReadSettings
from s3d.mount.stream import PART_SIZE, Stream

log = logging.getLogger("s3d.mount")
MEMORY_STAGE_MAX = 1024 * 1024  # a file written from empty stays in memory up to this size
MEMORY_STAGED_TOTAL = 64 * 1024 * 1024  # all open files' bytes staged in memory, together
assert MEMORY_STAGE_MAX < PART_SIZE, "a streamed upload reads a staging file"


class MemoryBudget:
    """The bytes all open files keep staged in memory; a file that would pass it moves to a staging file."""

    def __init__(self, limit: int = MEMORY_STAGED_TOTAL) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.limit:
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n


class OpenFile:
    def __init__(
        self,
        path: str,
        entry: Entry,
        etag: str | None,
        objects: Objects,
        staging_dir: Path,
        pool: Executor | None = None,  # given: a file written from empty in order goes up while written (stream.py)
        local: tuple[LocalSpan, ...] | None = None,  # the daemon's files holding this version (mount/local.py)
        budget: MemoryBudget | None = None,  # given: a file written from empty is staged in memory while small
    ) -> None:
        self.path = path
        self.entry = entry
        self.etag = etag  # None: no object yet (created through the mount)
        self.refs = 0
        self.lock = threading.RLock()
        self.dirty = False
        self.unlinked = False  # removed while open: never uploaded again
        self._objects = objects
        self._dir = staging_dir
        self._fd: int | None = None
        self._staged: Path | None = None
        self._mem: bytearray | None = None  # the content, staged in memory (no staging file then)
        self._budget = budget
        self._reader: BlockCache | LocalReader | None = None
        self._local = local
        self._pool = pool
        self._may_stream = True  # no streamed upload was given up since the last upload
        self._stream: Stream | None = None

    @property
    def staged(self) -> bool:
        return self._fd is not None or self._mem is not None

    def _stage(self, keep: bool) -> None:
        """Staged from the first change on; `keep`: start from the object's bytes (in a staging file, else empty
        and in memory if there is a budget)."""
        if self.staged:
            return
        kept = keep and self.etag is not None and self.entry.size > 0
        if not kept and self._budget is not None:
            self._drop_reader()
            self._mem = bytearray()
            return
        fd, name = tempfile.mkstemp(dir=self._dir, prefix="staged-")
        try:
            if kept:
                with os.fdopen(os.dup(fd), "wb") as f:
                    self._objects.download(self.path, f, self.etag)
        except BaseException:
            os.close(fd)
            os.unlink(name)
            raise
        self._drop_reader()
        self._fd, self._staged = fd, Path(name)

    def _in_memory(self, end: int) -> bytearray | None:
        """The memory staging, if the content may grow to `end` bytes there; else it moves to a staging file."""
        mem = self._mem
        if mem is None:
            return None
        grow = end - len(mem)
        if end <= MEMORY_STAGE_MAX and (grow <= 0 or (self._budget is not None and self._budget.take(grow))):
            return mem
        fd, name = tempfile.mkstemp(dir=self._dir, prefix="staged-")
        try:
            os.pwrite(fd, mem, 0)
        except BaseException:
            os.close(fd)
            os.unlink(name)
            raise
        self._fd, self._staged = fd, Path(name)
        self._free_memory()
        return None

    def _free_memory(self) -> None:
        if self._mem is not None:
            if self._budget is not None:
                self._budget.give(len(self._mem))
            self._mem = None

    def keep_content(self) -> None:
        """Before its object is removed or replaced through the mount: the content is staged (downloaded if it was
        not yet), so the handles still open keep reading and writing it."""
        with self.lock:
            self._stage(keep=True)

    def create_empty(self) -> None:
        with self.lock:
            self._stage(keep=False)
            self.dirty = True

    def read_into(self, out: memoryview, offset: int, settings: ReadSettings, pool: Executor, blocks: BlockPool) -> int:
        while True:
            with self.lock:
                if self._mem is not None:
                    n = max(min(len(out), len(self._mem) - offset), 0)
                    out[:n] = self._mem[offset : offset + n]
                    return n
                if self._fd is not None:
                    return os.preadv(self._fd, [out], offset)
                if self._reader is None and self._local is not None:
                    self._reader = open_local(self._local, self.entry.size)
                    self._local = None  # tried once: if the files did not open, the daemon is not beside us
                if self._reader is None:
                    self._reader = BlockCache(
                        functools.partial(self._objects.get_range_into, self.path, etag=self.etag or ""),
                        self.entry.size,
                        settings,
                        pool,
                        blocks,
                    )
                reader = self._reader
            try:
                return reader.read_into(out, offset)
            except ReaderClosed:
                continue  # changed or renamed meanwhile: read what it is now

    def _drop_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def write(self, data: bytes, offset: int) -> int:
        with self.lock:
            self._stage(keep=True)
            end = self.entry.size
            mem = self._in_memory(offset + len(data))
            if mem is not None:
                if offset > len(mem):
                    mem.extend(bytes(offset - len(mem)))  # a hole reads as zeros
                mem[offset : offset + len(data)] = data
                n = len(data)
            else:
                assert self._fd is not None
                n = os.pwrite(self._fd, data, offset)
            self._changed(max(end, offset + n))
            self._streamed(data[:n] if n < len(data) else data, appended=offset == end)
            return n

    def truncate(self, length: int) -> None:
        with self.lock:
            self._stage(keep=length > 0)
            mem = self._in_memory(length)
            if mem is not None:
                if length < len(mem):
                    if self._budget is not None:
                        self._budget.give(len(mem) - length)
                    del mem[length:]
                else:
                    mem.extend(bytes(length - len(mem)))
            else:
                assert self._fd is not None
                os.ftruncate(self._fd, length)
            if length != self.entry.size:
                self._drop_stream()
            self._may_stream = self._may_stream or length == 0
            self._changed(length)

    def _changed(self, size: int) -> None:
        self.dirty = True
        self.entry = replace(self.entry, size=size, mtime_ns=time.time_ns())

    def set_attrs(self, entry: Entry) -> None:
        """chmod/chown/utimens on a file with unsaved changes: applied with the upload (a whole one)."""
        with self.lock:
            self.entry = replace(entry, size=self.entry.size)
            self._drop_stream()

    def _streamed(self, data: bytes, appended: bool) -> None:
        """After a write of `data` (at the end of the file, or not): keep the streamed upload going, start one (at
        an append, once the file is large enough), or give it up (a write elsewhere)."""
        if self._stream is not None:
            if appended:
                self._stream.appended(data)
            else:
                self._drop_stream()
        elif appended and self._may_stream and self.entry.size >= PART_SIZE and self._pool:
            if self.unlinked or self._staged is None:
                return
            try:
                self._stream = Stream(
                    self._objects, self.path, self._staged, self.entry.size, _stream_meta(self.entry), self._pool
                )
            except Exception as e:  # noqa: BLE001 - the write is staged; close uploads it whole and reports
                log.info("no streamed upload of %s: %s", self.path, e)
                self._may_stream = False

    def _drop_stream(self) -> None:
        """Give the streamed upload up: the next upload is of the whole file."""
        if self._stream is not None:
            self._stream.abort()
            self._stream = None
            self._may_stream = False

    def upload(self) -> bool:
        """Turn the staging file into the object if it changed; True if it uploaded."""
        with self.lock:
            if not self.dirty or self.unlinked or not self.staged:
                return False
            stream, self._stream, self._may_stream = self._stream, None, True
            etag = stream.finish(self.entry.size, _stream_meta(self.entry)) if stream is not None else None
            if etag is None:
                staged = bytes(self._mem) if self._mem is not None else self._staged
                assert staged is not None
                etag = self._objects.upload(self.path, staged, self.entry.size, self.entry.meta())
            self.etag = etag
            self.entry = replace(self.entry, etag=self.etag)
            self.dirty = False
            return True

    def moved(self, path: str, etag: str | None) -> None:
        """Renamed (its changes were uploaded first): reads go to the new name's object."""
        with self.lock:
            self.path = path
            self._drop_reader()
            if etag is not None:
                self.etag = etag
                self.entry = replace(self.entry, etag=etag)

    def close(self) -> None:
        with self.lock:
            self._drop_stream()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._staged is not None:
                self._staged.unlink(missing_ok=True)
                self._staged = None
            self._free_memory()
            self._drop_reader()


def _stream_meta(entry: Entry) -> dict[str, str]:
    """The metadata a streamed upload starts with: all but the mtime, which is the upload's Last-Modified."""
    return {k: v for k, v in entry.meta().items() if k != META_MTIME}
