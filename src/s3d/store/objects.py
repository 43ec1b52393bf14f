"""The ``objects`` table: one row per key, and the only module that reads or writes it.

Where a row's bytes are: ``data`` (inline), ``blob`` (one blob file) or ``parts`` (the part blobs
of a completed multipart upload). A row with none of the three is *remote-only* (gateway mode): the
object is known to be on the remote and reads go there.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from s3d.store.errors import NoSuchKey, PreconditionFailed

COLUMNS = "bucket, key, size, etag, mtime, version, meta, checksum, tags, blob, parts, data, version_id"
COLUMNS_O = ", ".join("o." + c.strip() for c in COLUMNS.split(","))
PLACEHOLDERS = ",".join("?" * len(COLUMNS.split(",")))
REMOTE_ONLY = "data IS NULL AND blob IS NULL AND parts IS NULL"  # SQL: the row holds no bytes here
REMOTE_VERSION = 0  # ``version`` of a row made from what the remote said (no local write made it)
LISTING_ONLY = "x-s3d-listing-only"  # meta marker: a remote-only row made from a listing, not yet HEADed


@dataclass(slots=True)
class Part:
    """One part of a multipart object, as stored: where its bytes are and what they hash to."""

    number: int
    size: int
    etag: str
    blob: str
    checksum: dict[str, str] | None = None

    def to_json(self) -> list[Any]:
        return [self.number, self.size, self.etag, self.blob, self.checksum]

    @staticmethod
    def from_json(p: list[Any]) -> Part:
        return Part(p[0], p[1], p[2], p[3], p[4] if len(p) > 4 else None)


def parts_to_json(parts: list[Part]) -> str:
    return json.dumps([p.to_json() for p in parts])


def parts_from_json(text: str) -> list[Part]:
    return [Part.from_json(p) for p in json.loads(text)]


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
    version_id: str | None = None  # None: the "null" version

    def blobs(self) -> list[str]:
        if self.blob:
            return [self.blob]
        return [p.blob for p in self.parts or []]

    @property
    def is_remote(self) -> bool:
        """Known to exist on the remote, with no bytes held here (gateway mode only)."""
        return self.data is None and self.blob is None and self.parts is None

    @property
    def from_remote(self) -> bool:
        """The row was made from the remote's answer (its ETag is the remote's own)."""
        return self.version == REMOTE_VERSION

    @property
    def listing_only(self) -> bool:
        return self.is_remote and LISTING_ONLY in self.meta


@dataclass(slots=True)
class Conditions:
    """Conditional-write preconditions, checked inside the committing transaction."""

    if_none_match: bool = False  # If-None-Match: *
    if_match: str | None = None


def check_conditions(current_etag: str | None, cond: Conditions | None) -> None:
    if cond is None:
        return
    if cond.if_none_match and current_etag is not None:
        raise PreconditionFailed("If-None-Match")
    if cond.if_match is not None:
        if current_etag is None:
            raise NoSuchKey()
        want = cond.if_match.strip()
        if want != "*" and want.strip('"') != current_etag.strip('"'):
            raise PreconditionFailed("If-Match")


def from_row(row: tuple[Any, ...] | sqlite3.Row) -> Object:
    return Object(
        bucket=row[0],
        key=row[1],
        size=row[2],
        etag=row[3],
        mtime=row[4],
        version=row[5],
        meta=json.loads(row[6]),
        checksum=json.loads(row[7]) if row[7] else None,
        tags=[(t[0], t[1]) for t in json.loads(row[8])] if row[8] else None,
        blob=row[9],
        parts=parts_from_json(row[10]) if row[10] else None,
        data=row[11],
        version_id=row[12],
    )


def _values(obj: Object) -> tuple[Any, ...]:
    return (
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
        parts_to_json(obj.parts) if obj.parts else None,
        obj.data,
        obj.version_id,
    )


def get(conn: sqlite3.Connection, bucket: str, key: bytes) -> Object | None:
    row = conn.execute(f"SELECT {COLUMNS} FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
    return from_row(row) if row else None


@dataclass(slots=True)
class Current:
    """What a write replaces: the current ETag and the blobs the row owns."""

    etag: str
    blobs: list[str]
    is_remote: bool  # a row made from what the remote said (gateway mode), no local write made it


def current(conn: sqlite3.Connection, bucket: str, key: bytes) -> Current | None:
    row = conn.execute(
        "SELECT etag, blob, parts, version FROM objects WHERE bucket=? AND key=?", (bucket, key)
    ).fetchone()
    if row is None:
        return None
    blobs = [row[1]] if row[1] else [p.blob for p in parts_from_json(row[2])] if row[2] else []
    return Current(row[0], blobs, row[3] == REMOTE_VERSION)


def replaced_blobs(old: Current | None, new: Object | None) -> list[str]:
    """Blobs of the old row that the new one does not keep: unlinked once the new row is durable."""
    if old is None:
        return []
    keep = set(new.blobs()) if new else set()
    return [b for b in old.blobs if b not in keep]


def put(conn: sqlite3.Connection, obj: Object) -> None:
    conn.execute(f"INSERT OR REPLACE INTO objects ({COLUMNS}) VALUES ({PLACEHOLDERS})", _values(obj))


def delete(conn: sqlite3.Connection, bucket: str, key: bytes) -> None:
    conn.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, key))


def any_in_bucket(conn: sqlite3.Connection, bucket: str) -> bool:
    return conn.execute("SELECT 1 FROM objects WHERE bucket=? LIMIT 1", (bucket,)).fetchone() is not None


def set_tags(conn: sqlite3.Connection, bucket: str, key: bytes, tags: list[tuple[str, str]] | None) -> bool:
    cur = conn.execute(
        "UPDATE objects SET tags=? WHERE bucket=? AND key=?", (json.dumps(tags) if tags else None, bucket, key)
    )
    return cur.rowcount > 0


def replace_meta(
    conn: sqlite3.Connection,
    bucket: str,
    key: bytes,
    meta: dict[str, str],
    tags: list[tuple[str, str]] | None,
    version: int,
) -> None:
    conn.execute(
        "UPDATE objects SET meta=?, tags=?, mtime=?, version=? WHERE bucket=? AND key=?",
        (json.dumps(meta), json.dumps(tags) if tags else None, time.time(), version, bucket, key),
    )


def counts(conn: sqlite3.Connection, bucket: str) -> tuple[int, int]:
    """(objects, bytes) in a bucket."""
    n, size = conn.execute("SELECT count(*), coalesce(sum(size), 0) FROM objects WHERE bucket=?", (bucket,)).fetchone()
    return int(n), int(size)


def blob_references(conn: sqlite3.Connection) -> set[str]:
    """Every blob an object row points at (start-up recovery keeps exactly these and the other tables' ones)."""
    return blobs_of_rows(conn.execute("SELECT blob, parts FROM objects WHERE blob IS NOT NULL OR parts IS NOT NULL"))


def blobs_of_rows(rows: Iterable[tuple[str | None, str | None]]) -> set[str]:
    """The blob files named by (blob, parts JSON) column pairs, of this table or another that stores objects."""
    out: set[str] = set()
    for blob, parts in rows:
        if blob:
            out.add(blob)
        if parts:
            out.update(p.blob for p in parts_from_json(parts))
    return out


def tags_of(conn: sqlite3.Connection, bucket: str, key: bytes) -> list[tuple[str, str]] | None:
    row = conn.execute("SELECT tags FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
    return [(t[0], t[1]) for t in json.loads(row[0])] if row and row[0] else None


# ---------- remote-only rows (gateway mode) ----------
def put_remote_only(
    conn: sqlite3.Connection,
    bucket: str,
    key: bytes,
    size: int,
    etag: str,
    mtime: float,
    meta: dict[str, str],
    listing_only: bool,
) -> bool:
    """Insert or refresh a remote-only row; never touches a row that holds local bytes. True if a row changed."""
    m = dict(meta)
    if listing_only:
        m[LISTING_ONLY] = "1"
    cur = conn.execute(
        f"INSERT INTO objects ({COLUMNS}) VALUES ({PLACEHOLDERS}) "
        "ON CONFLICT (bucket, key) DO UPDATE SET size=excluded.size, etag=excluded.etag, mtime=excluded.mtime, "
        f"meta=excluded.meta WHERE objects.{REMOTE_ONLY.replace(' AND ', ' AND objects.')}",
        (bucket, key, size, etag, mtime, REMOTE_VERSION, json.dumps(m), None, None, None, None, None, None),
    )
    return cur.rowcount > 0


def forget_remote_only(conn: sqlite3.Connection, bucket: str, key: bytes) -> bool:
    """Drop a remote-only row whose object is gone from the remote. True if one was dropped."""
    return conn.execute(f"DELETE FROM objects WHERE bucket=? AND key=? AND {REMOTE_ONLY}", (bucket, key)).rowcount > 0


def remote_only_keys(
    conn: sqlite3.Connection, bucket: str, prefix: bytes = b"", modified_before: float = math.inf
) -> list[bytes]:
    """Keys of remote-only rows under ``prefix`` whose remote LastModified is before ``modified_before``."""
    rows = conn.execute(
        f"SELECT key FROM objects WHERE bucket=? AND key>=? AND {REMOTE_ONLY} AND mtime<? ORDER BY key",
        (bucket, prefix, modified_before),
    )
    return [k for (k,) in rows if k.startswith(prefix)]


def etag_of(conn: sqlite3.Connection, bucket: str, key: bytes) -> str | None:
    row = conn.execute("SELECT etag FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
    return None if row is None else str(row[0])


def adopt_remote(
    conn: sqlite3.Connection,
    bucket: str,
    key: bytes,
    expect_etag: str,
    size: int,
    etag: str,
    mtime: float,
    meta: dict[str, str],
) -> list[str] | None:
    """Another writer replaced a shipped object on the remote: the row becomes remote-only with the remote's
    version (its blobs returned, to unlink after COMMIT); None if the local row changed meanwhile."""
    old = current(conn, bucket, key)
    if old is None or old.etag != expect_etag:
        return None
    conn.execute(
        "UPDATE objects SET size=?, etag=?, mtime=?, version=?, meta=?, checksum=NULL, tags=NULL, blob=NULL, parts=NULL, "
        "data=NULL WHERE bucket=? AND key=?",
        (size, etag, mtime, REMOTE_VERSION, json.dumps(meta), bucket, key),
    )
    return old.blobs


def drop_replaced(conn: sqlite3.Connection, bucket: str, key: bytes, expect_etag: str) -> list[str] | None:
    """Another writer deleted a shipped object on the remote: the row goes (not journaled: it is the remote's
    change, not ours); its blobs, or None if the local row changed meanwhile."""
    old = current(conn, bucket, key)
    if old is None or old.etag != expect_etag:
        return None
    delete(conn, bucket, key)
    return old.blobs


def drop_local_bytes(conn: sqlite3.Connection, bucket: str, key: bytes, etag: str) -> list[str] | None:
    """Make a shipped object remote-only (its bytes are clean): the blobs to unlink, or None if it changed."""
    old = current(conn, bucket, key)
    if old is None or old.etag != etag:
        return None
    conn.execute("UPDATE objects SET blob=NULL, parts=NULL, data=NULL WHERE bucket=? AND key=?", (bucket, key))
    return old.blobs


# ---------- the sync directory's view of a prefix ----------
@dataclass(frozen=True, slots=True)
class Summary:
    """An object as a listing sees it, with the one user metadata entry the sync reads."""

    key: bytes
    size: int
    etag: str
    mtime: float
    meta_mtime: str | None  # x-amz-meta-mtime, when the writer stored the file's own mtime
    flagged: bool  # the metadata holds the entry the caller asked about (e.g. an encryption envelope)


def _range(prefix: bytes) -> tuple[str, list[object]]:
    end = prefix.rstrip(b"\xff")
    if not end:
        return "", [prefix]
    return " AND key < ?", [prefix, end[:-1] + bytes([end[-1] + 1])]


def under_prefix(conn: sqlite3.Connection, bucket: str, prefix: bytes, meta_name: str, flag: str) -> list[Summary]:
    upper, args = _range(prefix)
    rows = conn.execute(
        "SELECT key, size, etag, mtime, json_extract(meta, '$.\"' || ? || '\"'), "
        "json_extract(meta, '$.\"' || ? || '\"') IS NOT NULL FROM objects "
        f"WHERE bucket=? AND key >= ?{upper} ORDER BY key",
        [meta_name, flag, bucket, *args],
    )
    return [Summary(k, size, etag, mtime, m, bool(f)) for k, size, etag, mtime, m, f in rows]


def prefix_signature(conn: sqlite3.Connection, bucket: str, prefix: bytes) -> tuple[int, int, float, float]:
    """Changes whenever a key under the prefix is added, replaced or removed (cheap: one index range scan)."""
    upper, args = _range(prefix)
    row = conn.execute(
        f"SELECT count(*), coalesce(max(version), 0), total(mtime), total(size) FROM objects "
        f"WHERE bucket=? AND key >= ?{upper}",
        [bucket, *args],
    ).fetchone()
    return int(row[0]), int(row[1]), float(row[2]), float(row[3])
