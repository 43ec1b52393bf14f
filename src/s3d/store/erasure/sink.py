"""One blob being written to the pool: each full stripe is encoded and its fragments written to the
shards' tmp files (one per drive) by the pool's encoder threads, while the next stripe arrives; placing
the blob writes the last stripe and every header, then syncs and renames every shard (the writer's
steps 2-4, per drive).

A record's place in its shard file follows from its stripe number (shard.py), so stripes may be written
in any order and in parallel.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import uuid
from collections import deque
from concurrent.futures import Future
from pathlib import Path

from s3d.store.blobs import fsync_dir
from s3d.store.erasure.base import PoolParts
from s3d.store.erasure.drives import Drive
from s3d.store.erasure.shard import HEADER_SIZE, Header, record, record_offset
from s3d.store.errors import InsufficientStorage

READ_CHUNK = 1 << 20
IN_FLIGHT = 4  # stripes of one blob being encoded and written at once, at most


class ShardOut:
    """One shard's tmp file (named at random: a repair may write the same blob's shard at the same time)."""

    def __init__(self, drive: Drive, blob: str) -> None:
        self.drive = drive
        self.blob = blob
        self.tmp_path = drive.tmp / uuid.uuid4().hex
        self.fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        os.pwrite(self.fd, bytes(HEADER_SIZE), 0)
        self.offset = HEADER_SIZE  # the end of what is written
        self.placed: Path | None = None

    def write_at(self, offset: int, data: bytes) -> None:
        if not self.drive.has_room(len(data)):
            raise OSError(errno.ENOSPC, "drive is full (metadata reserve reached)")
        view = memoryview(data)
        at = offset
        while view:
            n = os.pwrite(self.fd, view, at)
            view = view[n:]
            at += n
        self.offset = max(self.offset, at)

    def append(self, data: bytes) -> None:
        self.write_at(self.offset, data)

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
        self._stripes = 0  # full stripes handed to the encoder
        self._pending: deque[Future[None]] = deque()
        self._lock = threading.Lock()  # guards _shards against the encoder threads
        self._shards: list[ShardOut | None] = [self._open(d) for d in pool.placement(self.blob)]
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
        if len(self._buf) < stripe:
            return
        whole = len(self._buf) - len(self._buf) % stripe
        for at in range(0, whole, stripe):
            while len(self._pending) >= IN_FLIGHT:
                self._pending.popleft().result()  # back-pressure: the oldest stripe first
            self._check()
            n, self._stripes = self._stripes, self._stripes + 1
            self._pending.append(self.pool.encoder.submit(self._emit, n, bytes(self._buf[at : at + stripe])))
        del self._buf[:whole]

    def _emit(self, n: int, stripe: bytes) -> None:
        """Encode stripe n and write its records where they belong in every shard (an encoder thread)."""
        frags = self.pool.codec.encode(stripe)
        offset = record_offset(n, self.pool.fragment_size)
        for i, frag in enumerate(frags):
            out = self._shards[i]
            if out is None:
                continue
            try:
                out.write_at(offset, record(frag))
            except OSError as e:
                self._lost(i, out, e)

    def _lost(self, i: int, out: ShardOut, e: OSError) -> None:
        with self._lock:
            if self._shards[i] is not out:
                return
            out.drive.failed_write(e)
            self._shards[i] = None
        out.drop()

    def _check(self) -> None:
        if sum(s is not None for s in self._shards) < self.pool.layout.min_shards_to_write:
            self._wait()
            self._require()

    def _wait(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def copy_range_from(self, fd: int, offset: int, length: int) -> None:
        done = 0
        while done < length:
            chunk = os.pread(fd, min(READ_CHUNK, length - done), offset + done)
            if not chunk:
                raise OSError(errno.EIO, "source blob is shorter than its metadata says")
            self.write(chunk)
            done += len(chunk)

    # ---------- durable ----------
    def _finish(self) -> None:
        self._wait()
        if self._buf:
            self._emit(self._stripes, bytes(self._buf))
            self._buf = bytearray()

    def _place_one(self, i: int, header: Header) -> None:
        out = self._shards[i]
        if out is None:
            return
        try:
            out.place(header)
        except OSError as e:
            self._lost(i, out, e)

    async def place(self) -> str:
        """Every shard synced, renamed and its directory synced, in parallel across drives."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._finish)
        self._require()
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
        for f in self._pending:
            f.cancel()
        try:
            self._wait()
        except Exception:  # noqa: BLE001 - the write is being abandoned anyway
            pass
        with self._lock:
            shards, self._shards = self._shards, [None] * len(self._shards)
        for s in shards:
            if s is not None:
                s.drop()
