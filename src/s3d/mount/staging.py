"""One open path: reads from the object (ranged) until the first change, then from a local staging file that
holds the whole new content and becomes the object on flush (close) or fsync.

Every handle open on the same path shares one OpenFile, so they see each other's writes. The object is replaced
only by an upload of the complete staging file: a mount that dies before close leaves the old object as it was.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
import time
from concurrent.futures import Executor
from dataclasses import replace
from pathlib import Path

from s3d.mount.attrs import Entry
from s3d.mount.objects import Objects
from s3d.mount.reader import BlockCache, BlockPool, ReaderClosed, ReadSettings


class OpenFile:
    def __init__(self, path: str, entry: Entry, etag: str | None, objects: Objects, staging_dir: Path) -> None:
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
        self._reader: BlockCache | None = None

    @property
    def staged(self) -> bool:
        return self._fd is not None

    def _stage(self, keep: bool) -> int:
        """The staging file's descriptor, created on the first change; `keep`: start from the object's bytes."""
        if self._fd is not None:
            return self._fd
        fd, name = tempfile.mkstemp(dir=self._dir, prefix="staged-")
        try:
            if keep and self.etag is not None and self.entry.size > 0:
                with os.fdopen(os.dup(fd), "wb") as f:
                    self._objects.download(self.path, f)
        except BaseException:
            os.close(fd)
            os.unlink(name)
            raise
        self._drop_reader()
        self._fd, self._staged = fd, Path(name)
        return fd

    def create_empty(self) -> None:
        with self.lock:
            self._stage(keep=False)
            self.dirty = True

    def read_into(self, out: memoryview, offset: int, settings: ReadSettings, pool: Executor, blocks: BlockPool) -> int:
        while True:
            with self.lock:
                if self._fd is not None:
                    return os.preadv(self._fd, [out], offset)
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
            fd = self._stage(keep=True)
            n = os.pwrite(fd, data, offset)
            self._changed(max(self.entry.size, offset + n))
            return n

    def truncate(self, length: int) -> None:
        with self.lock:
            fd = self._stage(keep=length > 0)
            os.ftruncate(fd, length)
            self._changed(length)

    def _changed(self, size: int) -> None:
        self.dirty = True
        self.entry = replace(self.entry, size=size, mtime_ns=time.time_ns())

    def set_attrs(self, entry: Entry) -> None:
        """chmod/chown/utimens on a file with unsaved changes: applied with the upload."""
        with self.lock:
            self.entry = replace(entry, size=self.entry.size)

    def upload(self) -> bool:
        """Turn the staging file into the object if it changed; True if it uploaded."""
        with self.lock:
            if not self.dirty or self.unlinked or self._staged is None:
                return False
            self.etag = self._objects.upload(self.path, self._staged, self.entry.size, self.entry.meta())
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
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._staged is not None:
                self._staged.unlink(missing_ok=True)
                self._staged = None
            self._drop_reader()
