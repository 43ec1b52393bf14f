"""The store: buckets and objects on a local volume. Knows nothing about HTTP, S3 or remotes.

Every mutation runs in one SQLite transaction that also appends a journal record with a new LSN
(journal.py). Object bytes are written through the object writer (writer.py), which owns the
durable write order. Each table has one owner module (schema.py lists them).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from s3d.store import buckets, db, journal, objects, uploads
from s3d.store.blobs import BlobDir
from s3d.store.buckets import Bucket
from s3d.store.committer import Committer
from s3d.store.errors import (
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    CommitError,
    NoSuchBucket,
    NoSuchKey,
)
from s3d.store.listing import Listing, list_keys
from s3d.store.objects import Conditions, Object, Part
from s3d.store.ranges import BlobSpan, OpenSpan, spans
from s3d.store.writer import Draft, Hasher, ObjectWriter

__all__ = ["Bucket", "Conditions", "Draft", "Object", "Part", "Store"]

T = TypeVar("T")
HOT_ENTRIES = 1024  # rows remembered per worker for repeated GETs (see find_with_bucket)
HOT_MAX_SIZE = 256 * 1024


# a conditional delete's test of the object it would remove (None: there is none); raises to refuse
DeletePrecondition = Callable[[Object | None], None]


class Store:
    def __init__(self, root: Path, inline_max: int = 64 * 1024) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.db_path = str(root / "meta.db")
        db.init(self.db_path)
        self.blobs = BlobDir(root)
        self.inline_max = inline_max
        self.reader = db.connect(self.db_path)
        self.committer = Committer(self.db_path)
        self._hot: dict[tuple[str, bytes], tuple[Bucket | None, Object | None]] = {}
        self._hot_version = -1

    def close(self) -> None:
        self.committer.close()
        self.reader.close()

    # ---------- buckets ----------
    def get_bucket(self, name: str) -> Bucket | None:
        return buckets.get(self.reader, name)

    def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        return buckets.all_buckets(self.reader, owner)

    async def create_bucket(self, name: str, owner: str, region: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            current = buckets.owner(conn, name)
            if current is not None:
                raise (BucketAlreadyOwnedByYou if current == owner else BucketAlreadyExists)(bucket=name)
            buckets.insert(conn, name, owner, region)
            journal.append(conn, journal.Op.CREATE_BUCKET, name, None)

        await self.committer.run(op)

    async def delete_bucket(self, name: str) -> None:
        def op(conn: sqlite3.Connection) -> list[str]:
            if not buckets.exists(conn, name):
                raise NoSuchBucket(bucket=name)
            if objects.any_in_bucket(conn, name):
                raise BucketNotEmpty(bucket=name)
            blobs = uploads.remove_in_bucket(conn, name)
            buckets.delete(conn, name)
            journal.append(conn, journal.Op.DELETE_BUCKET, name, None)
            return blobs

        self.blobs.remove(await self.committer.run(op))

    async def set_bucket_config(self, name: str, item: str, value: Any) -> None:
        """Set (or with None, remove) one entry of a bucket's configuration (tags, cors, ...)."""

        def op(conn: sqlite3.Connection) -> None:
            if not buckets.set_config(conn, name, item, value):
                raise NoSuchBucket(bucket=name)
            journal.append(conn, journal.Op.BUCKET_CONFIG, name, None)

        await self.committer.run(op)

    # ---------- objects: reads ----------
    def get_object(self, bucket: str, key: bytes) -> Object | None:
        return objects.get(self.reader, bucket, key)

    def find_with_bucket(self, bucket: str, key: bytes) -> tuple[Bucket | None, Object | None]:
        """The bucket and the local row of a key, in one read transaction (the GET hot path).

        Hot answers are remembered while ``PRAGMA data_version`` stays the same: SQLite changes it
        whenever any other connection (every writer is another connection) commits, so an unchanged
        version means no row can have changed since.
        """
        version = self.reader.execute("PRAGMA data_version").fetchone()[0]
        if version != self._hot_version:
            self._hot.clear()
            self._hot_version = version
        hit = self._hot.get((bucket, key))
        if hit is not None:
            return hit
        row = self.reader.execute(
            f"SELECT b.name, b.owner, b.created, b.region, b.config, {objects.COLUMNS_O} FROM buckets b "
            "LEFT JOIN objects o ON o.bucket = b.name AND o.key = ? WHERE b.name = ?",
            (key, bucket),
        ).fetchone()
        if row is None:
            return None, None
        found = (buckets.from_row(row[:5]), (objects.from_row(row[5:]) if row[5] is not None else None))
        if found[1] is not None and found[1].size <= HOT_MAX_SIZE:
            if len(self._hot) >= HOT_ENTRIES:
                self._hot.pop(next(iter(self._hot)))
            self._hot[(bucket, key)] = found
        return found

    def list_objects(self, bucket: str, prefix: bytes, delimiter: bytes, after: bytes, max_keys: int) -> Listing:
        return list_keys(self.reader, bucket, prefix, delimiter, after, max_keys)

    def open_range(self, obj: Object, start: int, end: int) -> list[OpenSpan | bytes]:
        """Bytes [start, end] of an object with local bytes, opened. FileNotFoundError if it moved meanwhile."""
        out: list[OpenSpan | bytes] = []
        try:
            for piece in spans(obj, start, end):
                if isinstance(piece, BlobSpan):
                    out.append(OpenSpan(self.blobs.open_read(piece.blob), piece.offset, piece.length))
                else:
                    out.append(piece)
        except FileNotFoundError:
            close_spans(out)
            raise
        return out

    # ---------- objects: writes ----------
    def writer(
        self, expected_size: int | None, hashers: Sequence[Hasher] = (), data_key: bytes | None = None
    ) -> ObjectWriter:
        """Begin an object write (small objects of a known size stay inline; encrypted at rest with data_key)."""
        return ObjectWriter(self.blobs, self.committer, self.inline_max, expected_size, hashers, data_key)

    def part_writer(self, hashers: Sequence[Hasher] = (), data_key: bytes | None = None) -> ObjectWriter:
        """Begin a part write (parts are always blob files: they pass to the object on completion)."""
        return ObjectWriter(self.blobs, self.committer, self.inline_max, None, hashers, data_key)

    async def commit_new_blobs(self, op: Callable[[sqlite3.Connection], T], new_blobs: list[str]) -> T:
        """Run a mutation that hands already durable blobs to metadata; drop them if it certainly failed."""
        try:
            return await self.committer.run(op)
        except CommitError as e:
            if e.settled:
                self.blobs.remove(new_blobs)
            raise
        except Exception:
            self.blobs.remove(new_blobs)
            raise

    async def delete_object(
        self, bucket: str, key: bytes, journal_if_absent: bool = False, precondition: DeletePrecondition | None = None
    ) -> bool:
        """Delete a key; False if it did not exist (S3 answers 204 either way).

        ``journal_if_absent``: record the delete even when the key is not held here (a gateway ships
        deletes of keys that may exist only on the remote). ``precondition`` sees the object the
        delete would remove (or None) inside the transaction, and may refuse it by raising.
        """

        def op(conn: sqlite3.Connection) -> list[str] | None:
            if not buckets.exists(conn, bucket):
                raise NoSuchBucket(bucket=bucket)
            if precondition is not None:
                precondition(objects.get(conn, bucket, key))
            old = objects.current(conn, bucket, key)
            if old is None:
                if journal_if_absent:
                    journal.append(conn, journal.Op.DELETE, bucket, key)
                return None
            objects.delete(conn, bucket, key)
            journal.append(conn, journal.Op.DELETE, bucket, key)
            return objects.replaced_blobs(old, None)

        gone = await self.committer.run(op)
        if gone is None:
            return False
        self.blobs.remove(gone)
        return True

    async def set_tags(self, bucket: str, key: bytes, tags: list[tuple[str, str]] | None) -> int:
        def op(conn: sqlite3.Connection) -> int:
            if not objects.set_tags(conn, bucket, key, tags):
                raise NoSuchKey(bucket=bucket, key=key)
            return journal.append(conn, journal.Op.TAGS, bucket, key)

        return await self.committer.run(op)

    async def replace_meta(
        self, bucket: str, key: bytes, etag: str, meta: dict[str, str], tags: list[tuple[str, str]] | None
    ) -> Object:
        """Change an object's metadata in place (a copy onto itself with REPLACE)."""

        def op(conn: sqlite3.Connection) -> None:
            if objects.etag_of(conn, bucket, key) != etag:
                raise NoSuchKey(bucket=bucket, key=key)
            version = journal.append(conn, journal.Op.PUT, bucket, key)
            objects.replace_meta(conn, bucket, key, meta, tags, version)

        await self.committer.run(op)
        obj = self.get_object(bucket, key)
        if obj is None:
            raise NoSuchKey(bucket=bucket, key=key)
        return obj

    # ---------- status ----------
    def status(self, owner: str | None = None) -> dict[str, Any]:
        """LSN, and per bucket (of one owner, or all) objects and bytes; free disk."""
        listed = []
        for b in self.list_buckets(owner):
            n, size = objects.counts(self.reader, b.name)
            listed.append({"name": b.name, "owner": b.owner, "objects": n, "bytes": size})
        st = os.statvfs(self.root)
        return {
            "lsn": journal.current_lsn(self.reader),
            "buckets": listed,
            "objects": sum(b["objects"] for b in listed),
            "bytes": sum(b["bytes"] for b in listed),
            "disk_free_bytes": st.f_bavail * st.f_frsize,
        }


def close_spans(pieces: Sequence[OpenSpan | bytes]) -> None:
    for piece in pieces:
        if isinstance(piece, OpenSpan):
            os.close(piece.fd)
