"""One blob being written to the pool: stripes encoded as they fill, each fragment appended to its shard's
tmp file on its own drive; placing it syncs and renames every shard (the writer's steps 2-4, per drive).
"""

from __future__ import annotations

import asyncio
import errno
import os
import uuid
from pathlib import Path

from s3d.store.blobs import fsync_dir
from s3d.store.erasure.base import PoolParts
from s3d.store.erasure.drives import Drive
from s3d.store.erasure.shard import HEADER_SIZE, Header, record
from s3d.store.errors import InsufficientStorage

READ_CHUNK = 1 << 20


class ShardOut:
    """One shard's tmp file (named at random: a repair may write the same blob's shard at the same time)."""

    def __init__(self, drive: Drive, blob: str) -> None:
        self.drive = drive
        self.blob = blob
        self.tmp_path = drive.tmp / uuid.uuid4().hex
        self.fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        os.pwrite(self.fd, bytes(HEADER_SIZE), 0)
        self.offset = HEADER_SIZE
        self.placed: Path | None = None

    def append(self, data: bytes) -> None:
        if not self.drive.has_room(len(data)):
            raise OSError(errno.ENOSPC, "drive is full (metadata reserve reached)")
        view = memoryview(data)
        while view:
            n = os.pwrite(self.fd, view, self.offset)
            view = view[n:]
            self.offset += n

    def place(self, header: Header) -> None:
        os.pwrite(self.fd, header.pack(), 0)
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        final = self.drive.shard_path(self.blob)
        os.rename(self.tmp_path, final)
        self.placed = final
        fsync_dir(final.parent)

    def drop(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        for p in (self.tmp_path, self.placed):
            if p is not None:
                try:
                    os.unlink(p)
                except OSError:
                    pass


class StripedFile:
    def __init__(self, pool: PoolParts, blob: str | None = None) -> None:
        self.pool = pool
        self.blob = blob or uuid.uuid4().hex
        self.size = 0
        self._buf = bytearray()
        self._shards: list[ShardOut | None] = []
        for d in pool.placement(self.blob):
            self._shards.append(self._open(d))
        self._require()

    def _open(self, drive: Drive) -> ShardOut | None:
        if not drive.in_service:
            return None
        try:
            return ShardOut(drive, self.blob)
        except OSError as e:
            drive.failed_write(e)
            return None

    def _require(self) -> None:
        """Too few shards left for the write rule (K+1): the write fails, nothing of it stays."""
        if sum(s is not None for s in self._shards) < self.pool.layout.min_shards_to_write:
            self.discard()
            raise InsufficientStorage("too few drives in service for an erasure-coded write")

    # ---------- bytes in ----------
    def write(self, data: bytes | memoryview) -> None:
        self._buf += data
        self.size += len(data)
        stripe = self.pool.layout.stripe_size
        if len(self._buf) >= stripe:
            whole = len(self._buf) - len(self._buf) % stripe
            view = memoryview(self._buf)
            for at in range(0, whole, stripe):
                self._emit(view[at : at + stripe])
            view.release()
            del self._buf[:whole]

    def _emit(self, stripe: bytes | bytearray | memoryview) -> None:
        for i, frag in enumerate(self.pool.codec.encode(stripe)):
            out = self._shards[i]
            if out is None:
                continue
            try:
                out.append(record(frag))
            except OSError as e:
                out.drive.failed_write(e)
                out.drop()
                self._shards[i] = None
        self._require()

    def copy_range_from(self, fd: int, offset: int, length: int) -> None:
        done = 0
        while done < length:
            chunk = os.pread(fd, min(READ_CHUNK, length - done), offset + done)
            if not chunk:
                raise OSError(errno.EIO, "source blob is shorter than its metadata says")
            self.write(chunk)
            done += len(chunk)

    # ---------- durable ----------
    def _place_one(self, i: int, header: Header) -> None:
        out = self._shards[i]
        assert out is not None
        try:
            out.place(header)
        except OSError as e:
            out.drive.failed_write(e)
            out.drop()
            self._shards[i] = None

    async def place(self) -> str:
        """Every shard synced, renamed and its directory synced, in parallel across drives."""
        if self._buf:
            self._emit(self._buf)
            self._buf = bytearray()
        loop = asyncio.get_running_loop()
        layout = self.pool.layout
        size = self.pool.fragment_size
        await asyncio.gather(
            *(
                loop.run_in_executor(None, self._place_one, i, Header(layout.k, layout.m, i, layout.stripe_size, size, self.size))
                for i, s in enumerate(self._shards)
                if s is not None
            )
        )  # fmt: skip
        self._require()
        if any(s is None for s in self._shards):
            self.pool.damaged(self.blob, "written with shards missing")
        return self.blob

    def discard(self) -> None:
        for s in self._shards:
            if s is not None:
                s.drop()
        self._shards = [None] * len(self._shards)
