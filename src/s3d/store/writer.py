"""The object writer: the one place where object bytes become durable and their metadata commits.

    w = store.writer(expected_size)      # begin
    w.write(chunk) ... / await w.copy(spans)
    obj = await w.commit_object(draft)   # or: part = await w.commit_part(upload_id, number, ...)

The durable write order, as in Swift's diskfile.py (this comment is the only statement of it):

    1. bytes go to DATA/tmp/<id> (or stay in memory when the object is small enough to be inline)
    2. fsync(file)
    3. rename to DATA/blobs/<xx>/<id>
    4. fsync(DATA/blobs/<xx>)
    5. COMMIT the metadata row and its journal record in one transaction (one WAL fsync per batch);
       inline bytes travel in that same transaction
    6. only then are the replaced version's blobs unlinked

Why: after a crash, committed metadata never points at a missing or partial file. A blob that
reached disk but whose row did not commit is an orphan; start-up recovery deletes it. A commit that
certainly rolled back drops its new blob at once; after an uncertain one (an I/O error during
COMMIT) the blob stays for recovery to judge, since the row may be on disk.

Encryption at rest, versioning and erasure coding plug in here. With an erasure-coded pool
(store/erasure/, docs/erasure.md) steps 1-4 happen for each shard on its own drive, all before step 5.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from s3d.crypto.segments import Encryptor
from s3d.store import buckets, objects, uploads, versions
from s3d.store.blobs import BlobSink, BlobStore, storage_error
from s3d.store.committer import Committer
from s3d.store.errors import CommitError, NoSuchBucket, NotBucketOwner
from s3d.store.objects import Conditions, Object
from s3d.store.ranges import OpenSpan
from s3d.store.uploads import StoredPart

T = TypeVar("T")
COPY_CHUNK = 1 << 20
INLINE_COPIES = 2  # the disk holds inline bytes twice for a while: in the WAL and in the database file


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...


@dataclass(slots=True)
class Draft:
    """An object's metadata, before its bytes are placed (the writer fills in size and location)."""

    bucket: str
    key: bytes
    etag: str
    meta: dict[str, str]
    checksum: dict[str, str] | None = None
    tags: list[tuple[str, str]] | None = None
    mtime: float | None = None


class ObjectWriter:
    def __init__(
        self,
        blobs: BlobStore,
        committer: Committer,
        inline_max: int,
        expected_size: int | None,
        hashers: Sequence[Hasher] = (),
        data_key: bytes | None = None,
    ) -> None:
        self.blobs = blobs
        self.committer = committer
        self.inline_max = inline_max
        self.hashers = list(hashers)
        self.size = 0  # plaintext bytes written
        # encryption at rest: what is kept (inline or in the blob) is the at-rest format of crypto/segments.py
        self._encryptor = Encryptor(data_key) if data_key is not None else None
        self._memory: list[bytes] | None = [] if expected_size is not None and expected_size <= inline_max else None
        self._file: BlobSink | None = None if self._memory is not None else blobs.new_file()
        self._done = False

    # ---------- bytes in ----------
    def write(self, chunk: bytes | memoryview) -> None:
        for h in self.hashers:
            h.update(chunk)
        self.size += len(chunk)
        if self._encryptor is None:
            self._keep(chunk)
        else:
            for piece in self._encryptor.update_pieces(chunk):
                self._keep(piece)

    def _keep(self, data: bytes | memoryview) -> None:
        """Bytes as stored: in memory while the object may stay inline, else in the blob file."""
        if self._memory is not None:
            self._memory.append(bytes(data))
            if self.size > self.inline_max:
                self._spill()
            return
        assert self._file is not None
        self._file.write(data)

    def _spill(self) -> None:
        """More bytes than announced: move to a blob file after all."""
        assert self._memory is not None
        self._file = self.blobs.new_file()
        data, self._memory = b"".join(self._memory), None
        self._file.write(data)

    async def copy(self, pieces: Sequence[OpenSpan | bytes]) -> None:
        """Append local byte ranges (open fds are not closed here). Kernel-side copy when nothing hashes."""

        def run() -> None:
            for piece in pieces:
                if isinstance(piece, bytes):
                    self.write(piece)
                    continue
                if not self.hashers and self._file is not None and self._encryptor is None:
                    self._file.copy_range_from(piece.fd, piece.offset, piece.length)
                    self.size += piece.length
                    continue
                done = 0
                while done < piece.length:
                    chunk = os.pread(piece.fd, min(COPY_CHUNK, piece.length - done), piece.offset + done)
                    if not chunk:
                        raise OSError("source blob is shorter than its metadata says")
                    self.write(chunk)
                    done += len(chunk)

        try:
            await asyncio.get_running_loop().run_in_executor(None, run)
        except OSError as e:
            self.discard()
            raise storage_error(e) from e

    # ---------- durable, then committed ----------
    async def _place(self) -> tuple[bytes | None, str | None]:
        """Steps 1-4: (inline bytes, None) or (None, blob name)."""
        if self._encryptor is not None:
            self._keep(self._encryptor.finish())  # the final segment
            self._encryptor = None
        if self._memory is not None:
            data = b"".join(self._memory)
            # inline bytes land in the WAL, and again in the database file when the WAL is checkpointed:
            # keep the metadata reserve for deletes (see blobs.py)
            self.blobs.check_space(self.blobs.root, INLINE_COPIES * len(data))
            return data, None
        assert self._file is not None
        return None, await self._file.place()

    async def _commit(self, op: Callable[[sqlite3.Connection], T], new_blob: str | None) -> T:
        """Step 5; a new blob goes again only if the transaction certainly did not commit."""
        try:
            return await self.committer.run(op)
        except CommitError as e:
            if e.settled and new_blob:
                self.blobs.remove([new_blob])
            raise
        except BaseException:
            if new_blob:
                self.blobs.remove([new_blob])
            raise
        finally:
            self._done = True

    async def commit_object(self, draft: Draft, cond: Conditions | None = None, owner: str | None = None) -> Object:
        """Make the bytes durable and commit the object's row and journal record.

        With ``owner``, the bucket must belong to that user (checked in the committing transaction).
        """
        data, blob = await self._place()
        obj = Object(
            bucket=draft.bucket, key=draft.key, size=self.size, etag=draft.etag,
            mtime=draft.mtime if draft.mtime is not None else time.time(), version=objects.REMOTE_VERSION,
            meta=draft.meta, checksum=draft.checksum, tags=draft.tags, blob=blob, data=data,
        )  # fmt: skip

        def op(conn: sqlite3.Connection) -> list[str]:
            return put_row(conn, obj, cond, owner)

        replaced = await self._commit(op, blob)
        self.blobs.remove(replaced)  # step 6
        return obj

    async def commit_part(self, upload_id: str, number: int, etag: str, checksum: dict[str, str] | None) -> StoredPart:
        _, blob = await self._place()
        assert blob is not None, "a part writer is begun without an expected size: parts are always blob files"
        part = StoredPart(number, self.size, etag, time.time(), blob, checksum)
        replaced = await self._commit(lambda conn: uploads.put_part(conn, upload_id, part), blob)
        if replaced:
            self.blobs.remove([replaced])
        return part

    async def commit_blob(self, op: Callable[[sqlite3.Connection, str], T]) -> T:
        """Make the bytes a durable blob and commit ``op(conn, blob)`` (an index row of another table)."""
        _, blob = await self._place()
        assert blob is not None, "commit_blob needs a writer begun without an expected size"
        name = blob
        return await self._commit(lambda conn: op(conn, name), blob)

    def discard(self) -> None:
        """Drop what was written (a failed or abandoned request)."""
        if self._file is not None and not self._done:
            self._file.discard()
        self._memory = None
        self._done = True

    def __enter__(self) -> ObjectWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is not None and not self._done:
            self.discard()


def put_row(conn: sqlite3.Connection, obj: Object, cond: Conditions | None, owner: str | None) -> list[str]:
    """The committing transaction of an object write: checks, journal record, row. Returns replaced blobs."""
    found = buckets.write_state(conn, obj.bucket)
    if found is None:
        raise NoSuchBucket(bucket=obj.bucket)
    if owner is not None and found.owner != owner:
        raise NotBucketOwner(bucket=obj.bucket)
    return versions.write_current(conn, obj, cond, found)
