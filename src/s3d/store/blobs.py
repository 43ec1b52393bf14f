"""Blob files: object data too large to live inline in the metadata store.

Blobs are named by the engine (a random id), never by the object key, so a key
like ``../../etc/passwd`` can never address the filesystem.

The durable write order is owned by the object writer (writer.py); this module
only knows where blob files live and how to write, sync and place one.

Data writes stop short of filling the disk: a blob (or inline object, see
writer.py) that would leave less than ``reserve`` bytes free is refused
with InsufficientStorage. The headroom is for metadata: a DELETE needs a few
pages of WAL, and a disk filled to the last byte by object data would refuse
the very deletes that could free it.
"""

from __future__ import annotations

import asyncio
import errno
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from s3d.store.errors import InsufficientStorage, StorageIOError, StoreError

FANOUT = 256
RESERVE_MIN = 1 << 20
RESERVE_MAX = 64 << 20


def fsync_dir(path: Path) -> None:
    dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def reserve_for(path: Path) -> int:
    """Bytes kept free for metadata: 1% of the filesystem, within [1 MiB, 64 MiB]."""
    st = os.statvfs(path)
    return max(RESERVE_MIN, min(RESERVE_MAX, st.f_blocks * st.f_frsize // 100))


def check_room(fd_or_path: int | Path, more: int, reserve: int) -> None:
    """InsufficientStorage if writing ``more`` bytes would eat into ``reserve``."""
    st = os.fstatvfs(fd_or_path) if isinstance(fd_or_path, int) else os.statvfs(fd_or_path)
    if st.f_bavail * st.f_frsize - more < reserve:
        raise InsufficientStorage()


class BlobSink(Protocol):
    """One blob being written; the object writer (writer.py) decides when it is placed."""

    def write(self, data: bytes | memoryview) -> None: ...

    def copy_range_from(self, fd: int, offset: int, length: int) -> None: ...

    async def place(self) -> str:
        """Steps 2-4 of the durable order; returns the blob's name."""
        ...

    def discard(self) -> None: ...


class BlobStore(Protocol):
    """Where blobs live: one directory (BlobDir), or an erasure-coded pool of drives (store/erasure/)."""

    root: Path  # the data dir (the metadata lives there)
    by_fd: bool  # a blob is one plain file: readers may open it and sendfile/copy_file_range it

    def check_space(self, fd_or_path: int | Path, more: int) -> None: ...

    def new_file(self) -> BlobSink: ...

    def open_read(self, blob: str) -> int:
        """An fd holding the blob's bytes from offset 0 (the reader closes it)."""
        ...

    def local_path(self, blob: str) -> str | None:
        """The one plain file holding the blob's bytes from offset 0, for local readers; None if there is none."""
        ...

    def read(self, blob: str, offset: int, length: int | None) -> Reading:
        """Bytes [offset, offset+length) of a blob (to its end with None). FileNotFoundError at once if it is gone."""
        ...

    def open_random(self, blob: str) -> RandomRead:
        """Random reads of a blob (the reader closes it). FileNotFoundError at once if it is gone."""
        ...

    def remove(self, blobs: list[str]) -> None: ...


class BlobDir:
    by_fd = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.blobs = root / "blobs"
        self._prefix = f"{self.blobs}{os.sep}"  # open_read is on every GET's path: no Path objects there
        created = False
        for d in (self.tmp, self.blobs, *(self.blobs / f"{i:02x}" for i in range(FANOUT))):
            if not d.is_dir():
                d.mkdir(parents=True, exist_ok=True)
                created = True
        if created:
            # BlobWriter fsyncs blobs/<xx> after each rename; that makes the blob's
            # name durable only if blobs/<xx> itself is: sync the new directories' parents
            fsync_dir(self.blobs)
            fsync_dir(root)
        self.reserve = reserve_for(root)

    def check_space(self, fd_or_path: int | Path, more: int) -> None:
        """InsufficientStorage if writing ``more`` bytes would eat into the metadata reserve."""
        check_room(fd_or_path, more, self.reserve)

    def new_file(self) -> BlobFile:
        return BlobFile(self)

    def path(self, blob: str) -> Path:
        return self.blobs / blob[:2] / blob

    def open_read(self, blob: str) -> int:
        return os.open(self.local_path(blob), os.O_RDONLY | os.O_CLOEXEC)

    def local_path(self, blob: str) -> str:
        return f"{self._prefix}{blob[:2]}{os.sep}{blob}"

    def open_random(self, blob: str) -> RandomRead:
        return FdRead(self.open_read(blob))

    def read(self, blob: str, offset: int, length: int | None) -> Reading:
        fd = self.open_read(blob)
        return Reading(_read_fd(fd, offset, length), lambda: os.close(fd))

    def remove(self, blobs: list[str]) -> None:
        for b in blobs:
            try:
                os.unlink(self.path(b))
            except FileNotFoundError:
                pass


READ_CHUNK = 1 << 20


class RandomRead(Protocol):
    def read_at(self, offset: int, length: int) -> bytes: ...

    def close(self) -> None: ...


class FdRead:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read_at(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Reading:
    """An opened read of a blob: iterate for its chunks; close() lets go of what it holds, iterated or not."""

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None]) -> None:
        self._chunks = chunks
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Reading:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


def _read_fd(fd: int, offset: int, length: int | None) -> Iterator[bytes]:
    end = os.fstat(fd).st_size if length is None else offset + length
    while offset < end:
        chunk = os.pread(fd, min(READ_CHUNK, end - offset), offset)
        if not chunk:
            raise OSError(errno.EIO, "blob is shorter than its metadata says")
        offset += len(chunk)
        yield chunk


def storage_error(e: OSError) -> StoreError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage()
    return StorageIOError(f"I/O error: {e.strerror}")


class BlobFile:
    """One blob being written: tmp/<id>, then synced and moved into place (the writer decides when)."""

    def __init__(self, d: BlobDir) -> None:
        self.dir = d
        self.blob = uuid.uuid4().hex
        self.tmp_path = d.tmp / self.blob
        self.fd = -1
        try:
            self.fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as e:  # ENOSPC here means no inodes left
            raise storage_error(e) from e
        self.size = 0
        self.placed = False

    def write(self, data: bytes | memoryview) -> None:
        try:
            self.dir.check_space(self.fd, len(data))
        except InsufficientStorage:
            self.discard()
            raise
        try:
            view = memoryview(data)
            while view:
                n = os.write(self.fd, view)
                view = view[n:]
                self.size += n
        except OSError as e:
            self.discard()
            raise storage_error(e) from e

    def _place_sync(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        final = self.dir.path(self.blob)
        os.rename(self.tmp_path, final)
        fsync_dir(final.parent)
        self.placed = True

    async def place(self) -> str:
        """fsync, rename into blobs/<xx>/, fsync that directory; returns the blob's name."""
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._place_sync)
        except OSError as e:
            self.discard()
            raise storage_error(e) from e
        return self.blob

    def copy_range_from(self, fd: int, offset: int, length: int) -> None:
        """Append ``length`` bytes of another file from ``offset`` without passing them through Python."""
        self.dir.check_space(self.fd, length)
        done = 0
        while done < length:
            n = os.copy_file_range(fd, self.fd, length - done, offset + done)
            if n == 0:
                raise OSError(errno.EIO, "source blob is shorter than its metadata says")
            done += n
            self.size += n

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        for p in (self.tmp_path, self.dir.path(self.blob)):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
