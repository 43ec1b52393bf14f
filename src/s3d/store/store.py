"""The store: buckets and objects on a local volume. Knows nothing about HTTP.

Every mutation runs in one SQLite transaction that also appends a journal
record with a new LSN (the journal is what a gateway ships to the remote).
Object data is made durable before that transaction commits: small objects
travel inline in the same transaction, large ones are fsynced blob files
(see blobs.py), so a committed row never points at missing data.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from s3d.s3.errors import S3Error
from s3d.store import db
from s3d.store.blobs import BlobDir, BlobWriter
from s3d.store.committer import CommitError, Committer
from s3d.store.listing import Listing, list_keys

T = TypeVar("T")
HOT_ENTRIES = 1024  # rows remembered per worker for repeated GETs (see find_with_bucket)
HOT_MAX_SIZE = 256 * 1024

OBJECT_COLUMNS = "bucket, key, size, etag, mtime, version, meta, checksum, tags, blob, parts, data"
OBJECT_COLUMNS_O = ", ".join("o." + c.strip() for c in OBJECT_COLUMNS.split(","))


class ObjectChanged(Exception):
    """The object's bytes changed while they were being opened: look it up again."""


@dataclass(slots=True)
class Bucket:
    name: str
    owner: str
    created: float
    region: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Part:
    """One part of a multipart object, as stored: where its bytes are and what they hash to."""

    number: int
    size: int
    etag: str
    blob: str
    checksum: dict[str, str] | None = None


@dataclass(slots=True)
class Object:
    bucket: str
    key: bytes
    size: int
    etag: str
    mtime: float
    version: int
    meta: dict[str, str]
    checksum: dict[str, str] | None = None
    tags: list[tuple[str, str]] | None = None
    blob: str | None = None
    parts: list[Part] | None = None
    data: bytes | None = None

    def blobs(self) -> list[str]:
        if self.blob:
            return [self.blob]
        return [p.blob for p in self.parts or []]

    @property
    def is_remote(self) -> bool:
        """Known to exist on the remote, with no bytes held here (gateway mode only)."""
        return self.data is None and self.blob is None and self.parts is None


@dataclass(slots=True)
class Conditions:
    """Conditional-write preconditions, checked inside the committing transaction."""

    if_none_match: bool = False  # If-None-Match: *
    if_match: str | None = None


# (etag, size, mtime) of the object a conditional delete would remove, or None if there is none
DeletePrecondition = Callable[[tuple[str, int, float] | None], None]


def _row_to_object(row: tuple[Any, ...]) -> Object:
    parts = None
    if row[10]:
        parts = [Part(p[0], p[1], p[2], p[3], p[4] if len(p) > 4 else None) for p in json.loads(row[10])]
    return Object(
        bucket=row[0],
        key=row[1],
        size=row[2],
        etag=row[3],
        mtime=row[4],
        version=row[5],
        meta=json.loads(row[6]),
        checksum=json.loads(row[7]) if row[7] else None,
        tags=[tuple(t) for t in json.loads(row[8])] if row[8] else None,
        blob=row[9],
        parts=parts,
        data=row[11],
    )


def journal(conn: sqlite3.Connection, op: str, bucket: str, key: bytes | None, size: int = 0) -> int:
    cur = conn.execute(
        "INSERT INTO journal (ts, op, bucket, key, size) VALUES (?, ?, ?, ?, ?)", (time.time(), op, bucket, key, size)
    )
    return cur.lastrowid  # type: ignore[return-value]


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
        # gateway mode journals deletes of keys it does not hold, so they reach the remote
        self.journal_unknown_deletes = False
        self._hot: dict[tuple[str, bytes], tuple[Bucket | None, Object | None]] = {}
        self._hot_version = -1

    def close(self) -> None:
        self.committer.close()
        self.reader.close()

    # ---------- buckets ----------
    def get_bucket(self, name: str) -> Bucket | None:
        row = self.reader.execute(
            "SELECT name, owner, created, region, config FROM buckets WHERE name=?", (name,)
        ).fetchone()
        if row is None:
            return None
        return Bucket(row[0], row[1], row[2], row[3], json.loads(row[4]))

    def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        sql = "SELECT name, owner, created, region, config FROM buckets"
        args: tuple[str, ...] = ()
        if owner is not None:
            sql += " WHERE owner=?"
            args = (owner,)
        rows = self.reader.execute(sql + " ORDER BY name", args).fetchall()
        return [Bucket(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    async def create_bucket(self, name: str, owner: str, region: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT owner FROM buckets WHERE name=?", (name,)).fetchone()
            if row is not None:
                raise S3Error("BucketAlreadyOwnedByYou" if row[0] == owner else "BucketAlreadyExists", resource=name)
            conn.execute(
                "INSERT INTO buckets (name, owner, created, region) VALUES (?, ?, ?, ?)",
                (name, owner, time.time(), region),
            )
            journal(conn, "create_bucket", name, None)

        await self.committer.run(op)

    async def delete_bucket(self, name: str) -> None:
        def op(conn: sqlite3.Connection) -> list[str]:
            if conn.execute("SELECT 1 FROM buckets WHERE name=?", (name,)).fetchone() is None:
                raise S3Error("NoSuchBucket", resource=name, extra={"BucketName": name})
            if conn.execute("SELECT 1 FROM objects WHERE bucket=? LIMIT 1", (name,)).fetchone():
                raise S3Error("BucketNotEmpty", resource=name, extra={"BucketName": name})
            blobs = [
                r[0]
                for r in conn.execute(
                    "SELECT p.blob FROM parts p JOIN uploads u ON p.upload_id=u.upload_id WHERE u.bucket=?", (name,)
                )
            ]
            conn.execute("DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket=?)", (name,))
            conn.execute("DELETE FROM uploads WHERE bucket=?", (name,))
            conn.execute("DELETE FROM buckets WHERE name=?", (name,))
            journal(conn, "delete_bucket", name, None)
            return blobs

        self.blobs.remove(await self.committer.run(op))

    async def set_bucket_config(self, name: str, item: str, value: Any) -> None:
        """Set (or with None, remove) one entry of a bucket's configuration (tags, cors, ...)."""

        def op(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT config FROM buckets WHERE name=?", (name,)).fetchone()
            if row is None:
                raise S3Error("NoSuchBucket", resource=name, extra={"BucketName": name})
            config = json.loads(row[0])
            if value is None:
                config.pop(item, None)
            else:
                config[item] = value
            conn.execute("UPDATE buckets SET config=? WHERE name=?", (json.dumps(config), name))
            journal(conn, "bucket_config", name, None)

        await self.committer.run(op)

    # ---------- objects: reads ----------
    def get_object(self, bucket: str, key: bytes) -> Object | None:
        row = self.reader.execute(
            f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket=? AND key=?", (bucket, key)
        ).fetchone()
        return _row_to_object(row) if row else None

    async def find_with_bucket(self, bucket: str, key: bytes) -> tuple[Bucket | None, Object | None]:
        """The bucket and the object a read should see, in one read transaction (the GET hot path).

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
            f"SELECT b.name, b.owner, b.created, b.region, b.config, {OBJECT_COLUMNS_O} FROM buckets b "
            "LEFT JOIN objects o ON o.bucket = b.name AND o.key = ? WHERE b.name = ?",
            (key, bucket),
        ).fetchone()
        if row is None:
            return None, None
        b = Bucket(row[0], row[1], row[2], row[3], json.loads(row[4]) if row[4] != "{}" else {})
        found = (b, (_row_to_object(row[5:]) if row[5] is not None else None))
        if found[1] is not None and found[1].size <= HOT_MAX_SIZE:
            if len(self._hot) >= HOT_ENTRIES:
                self._hot.pop(next(iter(self._hot)))
            self._hot[(bucket, key)] = found
        return found

    async def find_object(self, bucket: str, key: bytes) -> Object | None:
        """The object a read should see. Here: the local row; a gateway store also asks the remote."""
        return self.get_object(bucket, key)

    async def remote_body(self, obj: Object, start: int, end: int) -> tuple[AsyncIterator[bytes] | bytes, str]:
        """Bytes of a remote-only object, and how they were served (a gateway store's read cache)."""
        raise S3Error("InternalError", "remote object in a store without a remote")

    async def reserve_write(self, size: int) -> int | None:
        """Room for a write (a gateway store's capacity bound); released by release_write."""
        return None

    async def release_write(self, reservation: int | None) -> None:
        pass

    async def tags_changed(self, bucket: str, key: bytes, tags: list[tuple[str, str]] | None) -> None:
        pass

    def list_objects(self, bucket: str, prefix: bytes, delimiter: bytes, after: bytes, max_keys: int) -> Listing:
        return list_keys(self.reader, bucket, prefix, delimiter, after, max_keys)

    # ---------- objects: writes ----------
    def new_blob(self) -> BlobWriter:
        return self.blobs.new_writer()

    async def put_object(self, obj: Object, cond: Conditions | None = None, owner: str | None = None) -> Object:
        """Commit an object whose data is already durable (inline bytes, blob or parts).

        With ``owner``, the bucket must belong to that user (checked in the committing transaction).
        """

        def op(conn: sqlite3.Connection) -> list[str]:
            row = conn.execute("SELECT owner FROM buckets WHERE name=?", (obj.bucket,)).fetchone()
            if row is None:
                raise S3Error("NoSuchBucket", resource=obj.bucket, extra={"BucketName": obj.bucket})
            if owner is not None and row[0] != owner:
                raise S3Error("AccessDenied", resource=f"/{obj.bucket}")
            old = conn.execute(
                "SELECT etag, blob, parts FROM objects WHERE bucket=? AND key=?", (obj.bucket, obj.key)
            ).fetchone()
            check_conditions(old[0] if old else None, cond)
            obj.version = journal(conn, "put", obj.bucket, obj.key, obj.size)
            conn.execute(
                f"INSERT OR REPLACE INTO objects ({OBJECT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    obj.bucket,
                    obj.key,
                    obj.size,
                    obj.etag,
                    obj.mtime,
                    obj.version,
                    json.dumps(obj.meta),
                    json.dumps(obj.checksum) if obj.checksum else None,
                    json.dumps(obj.tags) if obj.tags else None,
                    obj.blob,
                    json.dumps([[p.number, p.size, p.etag, p.blob, p.checksum] for p in obj.parts])
                    if obj.parts
                    else None,
                    obj.data,
                ),
            )
            return _old_blobs(old, obj)

        if obj.data is not None:
            # inline bytes land in the WAL: keep the metadata reserve for deletes (see blobs.py)
            self.blobs.check_space(self.root, len(obj.data))
        replaced = await self.commit_new_blobs(op, obj.blobs())
        # the old version's data goes only after the new row is durable
        self.blobs.remove(replaced)
        return obj

    async def commit_new_blobs(self, op: Callable[[sqlite3.Connection], T], new_blobs: list[str]) -> T:
        """Run a mutation that hands freshly written blobs to metadata; drop them if it failed.

        Only a batch that certainly rolled back may lose its new blobs: after an I/O
        error during COMMIT the row may yet be on disk, and deleting its blob would
        leave it pointing at nothing. Recovery sorts those out.
        """
        try:
            return await self.committer.run(op)
        except CommitError as e:
            if e.settled:
                self.blobs.remove(new_blobs)
            raise
        except Exception:
            self.blobs.remove(new_blobs)
            raise

    async def delete_object(self, bucket: str, key: bytes, precondition: DeletePrecondition | None = None) -> bool:
        """Delete a key; False if it did not exist (S3 answers 204 either way).

        ``precondition`` sees the current (etag, size, mtime), or None, inside the transaction and may raise.
        """

        def op(conn: sqlite3.Connection) -> list[str] | None:
            if conn.execute("SELECT 1 FROM buckets WHERE name=?", (bucket,)).fetchone() is None:
                raise S3Error("NoSuchBucket", resource=bucket, extra={"BucketName": bucket})
            old = conn.execute(
                "SELECT etag, blob, parts, size, mtime FROM objects WHERE bucket=? AND key=?", (bucket, key)
            ).fetchone()
            if precondition is not None:
                precondition((old[0], old[3], old[4]) if old else None)
            if old is None:
                if self.journal_unknown_deletes:
                    journal(conn, "delete", bucket, key)
                return None
            conn.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, key))
            journal(conn, "delete", bucket, key)
            return _old_blobs(old, None)

        gone = await self.committer.run(op)
        if gone is None:
            return False
        self.blobs.remove(gone)
        return True

    async def set_tags(self, bucket: str, key: bytes, tags: list[tuple[str, str]] | None) -> int:
        def op(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "UPDATE objects SET tags=? WHERE bucket=? AND key=?", (json.dumps(tags) if tags else None, bucket, key)
            )
            if cur.rowcount == 0:
                raise S3Error("NoSuchKey", extra={"Key": key.decode(errors="replace")})
            return journal(conn, "tags", bucket, key)

        return await self.committer.run(op)

    async def replace_meta(
        self, bucket: str, key: bytes, etag: str, meta: dict[str, str], tags: list[tuple[str, str]] | None
    ) -> Object:
        """Change an object's metadata in place (a copy onto itself with REPLACE)."""

        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT etag FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
            if row is None or row[0] != etag:
                raise S3Error("NoSuchKey", extra={"Key": key.decode(errors="replace")})
            version = journal(conn, "put", bucket, key)
            conn.execute(
                "UPDATE objects SET meta=?, tags=?, mtime=?, version=? WHERE bucket=? AND key=?",
                (json.dumps(meta), json.dumps(tags) if tags else None, time.time(), version, bucket, key),
            )
            return version

        await self.committer.run(op)
        obj = self.get_object(bucket, key)
        if obj is None:
            raise S3Error("NoSuchKey")
        return obj

    # ---------- status ----------
    def status(self) -> dict[str, Any]:
        r = self.reader
        row = r.execute("SELECT seq FROM sqlite_sequence WHERE name='journal'").fetchone()
        lsn = row[0] if row else 0
        buckets = []
        for b in self.list_buckets():
            n, size = r.execute(
                "SELECT count(*), coalesce(sum(size), 0) FROM objects WHERE bucket=?", (b.name,)
            ).fetchone()
            buckets.append({"name": b.name, "owner": b.owner, "objects": n, "bytes": size})
        st = os.statvfs(self.root)
        return {
            "lsn": lsn,
            "buckets": buckets,
            "objects": sum(b["objects"] for b in buckets),
            "bytes": sum(b["bytes"] for b in buckets),
            "disk_free_bytes": st.f_bavail * st.f_frsize,
        }


def _old_blobs(old: tuple[Any, ...] | None, new: Object | None) -> list[str]:
    if old is None:
        return []
    keep = set(new.blobs()) if new else set()
    out = [old[1]] if old[1] else [p[3] for p in json.loads(old[2])] if old[2] else []
    return [b for b in out if b not in keep]


def check_conditions(current_etag: str | None, cond: Conditions | None) -> None:
    if cond is None:
        return
    if cond.if_none_match and current_etag is not None:
        raise S3Error("PreconditionFailed", extra={"Condition": "If-None-Match"})
    if cond.if_match is not None:
        if current_etag is None:
            raise S3Error("NoSuchKey")
        want = cond.if_match.strip()
        if want != "*" and want.strip('"') != current_etag.strip('"'):
            raise S3Error("PreconditionFailed", extra={"Condition": "If-Match"})
