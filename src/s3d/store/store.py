"""The store: buckets and objects on a local volume. Knows nothing about HTTP, S3 or remotes.

Every mutation runs in one SQLite transaction that also appends a journal record with a new LSN
(journal.py). Object bytes are written through the object writer (writer.py), which owns the
durable write order. Each table has one owner module (schema.py lists them).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from s3d.store import buckets, db, journal, locks, objects, ship_state, uploads, versions
from s3d.store.blobs import BlobDir, BlobStore, Reading
from s3d.store.buckets import Bucket
from s3d.store.committer import Committer
from s3d.store.errors import (
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    BucketStateConflict,
    CommitError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
)
from s3d.store.listing import Listing, list_keys
from s3d.store.objects import Conditions, Object, Part
from s3d.store.ranges import BlobSpan, OpenSpan, spans
from s3d.store.versions import Removal, Version, VersionListing
from s3d.store.writer import Draft, Hasher, ObjectWriter

__all__ = ["Bucket", "Conditions", "Draft", "Object", "Part", "Store"]

T = TypeVar("T")
HOT_ENTRIES = 1024  # rows remembered per worker for repeated GETs (see find_with_bucket)
HOT_MAX_SIZE = 256 * 1024
LOCKED_VERSIONING = "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
LOCK_NEEDS_VERSIONING = "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
METADATA_CHANGE = 64 * 1024  # room taken to be needed by a change that adds metadata (WAL frames, then pages)
SCRATCH = "tmp"  # under the data dir; emptied of leftovers by recovery at start


# a conditional delete's test of the object it would remove (None: there is none); raises to refuse
DeletePrecondition = Callable[[Object | None], None]


class Store:
    def __init__(
        self,
        root: Path,
        inline_max: int = 64 * 1024,
        blobs: Callable[[Path], BlobStore] = BlobDir,
        mirrors: Sequence[Path] = (),
    ) -> None:
        """``blobs`` makes the store's BlobStore for the data dir (default: blobs in the data dir itself);
        ``mirrors``: directories holding copies of the metadata that every commit updates (store/mirror.py)."""
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.db_path = str(root / "meta.db")
        db.init(self.db_path)
        self.blobs: BlobStore = blobs(root)
        self.scratch = root / SCRATCH  # working files of no lasting value (e.g. a decompressed object to query)
        self.scratch.mkdir(exist_ok=True)
        self.inline_max = inline_max
        self.reader = db.connect(self.db_path)
        self.committer = Committer(self.db_path, mirrors=mirrors)
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

    def need_room(self, more: int = 0) -> None:
        """InsufficientStorage if a change that adds metadata (not a delete) would eat into the reserve kept for
        deletes (blobs.py); ``more``: the bytes it adds besides a row's worth."""
        self.blobs.check_space(self.root, METADATA_CHANGE + more)

    async def create_bucket(self, name: str, owner: str, region: str, config: dict[str, Any] | None = None) -> None:
        self.need_room()

        def op(conn: sqlite3.Connection) -> None:
            current = buckets.owner(conn, name)
            if current is not None:
                raise (BucketAlreadyOwnedByYou if current == owner else BucketAlreadyExists)(bucket=name)
            buckets.insert(conn, name, owner, region, config)
            journal.append(conn, journal.Op.CREATE_BUCKET, name, None)

        await self.committer.run(op)

    async def delete_bucket(self, name: str) -> None:
        def op(conn: sqlite3.Connection) -> list[str]:
            if not buckets.exists(conn, name):
                raise NoSuchBucket(bucket=name)
            if objects.any_in_bucket(conn, name) or versions.any_in_bucket(conn, name):
                raise BucketNotEmpty(bucket=name)
            blobs = uploads.remove_in_bucket(conn, name)
            buckets.delete(conn, name)
            journal.append(conn, journal.Op.DELETE_BUCKET, name, None)
            return blobs

        self.blobs.remove(await self.committer.run(op))

    async def set_bucket_config(self, name: str, item: str, value: Any) -> None:
        """Set (or with None, remove) one entry of a bucket's configuration (tags, cors, ...)."""
        if value is not None:
            self.need_room()
        await self.change_bucket_config(name, lambda config: buckets.set_entry(config, item, value))

    async def change_bucket_config(self, name: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Change a bucket's configuration in one transaction; ``change`` may raise a StoreError to refuse."""

        def op(conn: sqlite3.Connection) -> None:
            if not buckets.update_config(conn, name, change):
                raise NoSuchBucket(bucket=name)
            journal.append(conn, journal.Op.BUCKET_CONFIG, name, None)

        await self.committer.run(op)

    async def set_versioning(self, name: str, state: str) -> None:
        """Enable or suspend versioning (versions.ENABLED / SUSPENDED); a bucket never goes back to unversioned.
        A bucket with object lock keeps versioning enabled."""

        def change(config: dict[str, Any]) -> None:
            if state != versions.ENABLED and locks.LOCK_CONFIG in config:
                raise BucketStateConflict(LOCKED_VERSIONING, bucket=name)
            config[buckets.VERSIONING] = state

        self.need_room()
        await self.change_bucket_config(name, change)

    async def enable_object_lock(self, name: str, rule: dict[str, Any]) -> None:
        """Turn object lock on (with a default retention ``rule``, or ``{}``), or change its rule: only while
        versioning is enabled, which it then stays."""

        def change(config: dict[str, Any]) -> None:
            if config.get(buckets.VERSIONING) != versions.ENABLED:
                raise BucketStateConflict(LOCK_NEEDS_VERSIONING, bucket=name)
            config[locks.LOCK_CONFIG] = rule

        self.need_room()
        await self.change_bucket_config(name, change)

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

    def find_version(self, bucket: str, key: bytes, version_id: str) -> Version | None:
        """Any version of a key (``version_id`` in S3's form, "null" for the null version)."""
        return versions.find(self.reader, bucket, key, versions.stored_id(version_id))

    def latest_marker(self, bucket: str, key: bytes) -> Version | None:
        """The delete marker a key's newest version is, if it is one (for a key with no current object)."""
        return versions.latest_marker(self.reader, bucket, key)

    def list_versions(
        self,
        bucket: str,
        prefix: bytes,
        delimiter: bytes,
        key_marker: bytes,
        version_id_marker: str | None,
        max_keys: int,
    ) -> VersionListing:
        return versions.list_versions(self.reader, bucket, prefix, delimiter, key_marker, version_id_marker, max_keys)

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

    def read_range(self, obj: Object, start: int, end: int) -> Generator[bytes]:
        """Bytes [start, end] of an object with local bytes, as chunks (for BlobStores read by decoding).
        Every blob is opened before the first chunk: FileNotFoundError at once if one moved meanwhile."""
        opened: list[Reading | bytes] = []
        try:
            for piece in spans(obj, start, end):
                opened.append(
                    self.blobs.read(piece.blob, piece.offset, piece.length) if isinstance(piece, BlobSpan) else piece
                )
        except BaseException:
            close_readings(opened)
            raise
        return _chunks(opened)

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
        self,
        bucket: str,
        key: bytes,
        journal_if_absent: bool = False,
        precondition: DeletePrecondition | None = None,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> Removal:
        """Delete a key, or with ``version_id`` (S3's form) one version of it, as S3 does for the
        bucket's versioning state. S3 answers 204 whether or not there was anything to delete.

        ``journal_if_absent``: record the delete even when the key is not held here (a gateway ships
        deletes of keys that may exist only on the remote). ``precondition`` sees the object the
        delete would remove (or None) inside the transaction, and may refuse it by raising.
        """

        def op(conn: sqlite3.Connection) -> Removal:
            found = buckets.write_state(conn, bucket)
            if found is None:
                raise NoSuchBucket(bucket=bucket)
            state = found.versioning
            stored = versions.stored_id(version_id) if version_id is not None else None
            if precondition is not None:
                if version_id is None:
                    precondition(objects.get(conn, bucket, key))
                else:
                    v = versions.find(conn, bucket, key, stored)
                    precondition(v.obj if v is not None and not v.marker else None)
            if version_id is not None:
                return versions.delete_version(conn, bucket, key, stored, bypass_governance)
            if state is not None:
                return versions.delete_current(conn, bucket, key, state)
            old = objects.current(conn, bucket, key)
            if old is None:
                if journal_if_absent:
                    journal.append(conn, journal.Op.DELETE, bucket, key)
                return Removal(None, False, found=False)
            if old.is_remote:  # its ship deletes only what was seen there (If-Match)
                ship_state.seen(conn, bucket, key, old.etag)
            objects.delete(conn, bucket, key)
            journal.append(conn, journal.Op.DELETE, bucket, key)
            return Removal(None, False, objects.replaced_blobs(old, None))

        removal = await self.committer.run(op)
        self.blobs.remove(removal.blobs)
        return removal

    async def change_lock(
        self, bucket: str, key: bytes, version_id: str | None, change: Callable[[dict[str, str]], dict[str, str]]
    ) -> Object:
        """Change a version's lock settings: ``change`` maps its metadata to the new one (or raises)."""

        def op(conn: sqlite3.Connection) -> Object:
            if version_id is None:
                obj = objects.get(conn, bucket, key)
                if obj is None:
                    raise NoSuchKey(bucket=bucket, key=key)
            else:
                v = versions.find(conn, bucket, key, versions.stored_id(version_id))
                if v is None or v.marker:
                    raise NoSuchVersion(bucket=bucket, key=key)
                obj = v.obj
            obj.meta = change(obj.meta)
            versions.set_meta(conn, bucket, key, obj.version_id, obj.meta)
            return obj

        self.need_room()
        return await self.committer.run(op)

    async def set_tags(
        self, bucket: str, key: bytes, tags: list[tuple[str, str]] | None, version_id: str | None = None
    ) -> int:
        """Tag the current version, or with ``version_id`` (S3's form) that version."""

        def op(conn: sqlite3.Connection) -> int:
            if version_id is not None:
                stored = versions.stored_id(version_id)
                cur = objects.get(conn, bucket, key)
                if cur is None or cur.version_id != stored:
                    if not versions.set_tags(conn, bucket, key, stored, tags):
                        raise NoSuchVersion(bucket=bucket, key=key)
                    return journal.current_lsn(conn)
            if not objects.set_tags(conn, bucket, key, tags):
                raise NoSuchKey(bucket=bucket, key=key)
            return journal.append(conn, journal.Op.TAGS, bucket, key)

        if tags:
            self.need_room()
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

        self.need_room()
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


def close_readings(pieces: Sequence[Reading | bytes]) -> None:
    for piece in pieces:
        if isinstance(piece, Reading):
            piece.close()


def _chunks(pieces: list[Reading | bytes]) -> Generator[bytes]:
    try:
        for piece in pieces:
            if isinstance(piece, bytes):
                yield piece
            else:
                yield from piece
                piece.close()
    finally:
        close_readings(pieces)
