"""The ``uploads`` and ``parts`` tables (unfinished multipart uploads): the only module that touches them."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from s3d.store.errors import NoSuchUpload

UPLOAD_COLUMNS = "upload_id, bucket, key, initiated, meta, owner"
PART_COLUMNS = "part_number, size, etag, mtime, blob, checksum"


@dataclass(slots=True)
class Upload:
    upload_id: str
    bucket: str
    key: bytes
    initiated: float
    meta: dict[str, Any]  # object metadata plus "tags", "checksum_algorithm", "checksum_type"
    owner: str


@dataclass(slots=True)
class StoredPart:
    number: int
    size: int
    etag: str
    mtime: float
    blob: str
    checksum: dict[str, str] | None


def _upload(row: tuple[Any, ...]) -> Upload:
    return Upload(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])


def _part(row: tuple[Any, ...]) -> StoredPart:
    return StoredPart(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]) if row[5] else None)


def get(conn: sqlite3.Connection, upload_id: str, bucket: str, key: bytes) -> Upload:
    """The upload, if it belongs to this bucket and key; NoSuchUpload otherwise."""
    row = conn.execute(f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id=?", (upload_id,)).fetchone()
    if row is None or row[1] != bucket or row[2] != key:
        raise NoSuchUpload(upload_id)
    return _upload(row)


def in_bucket_from(conn: sqlite3.Connection, bucket: str, start: bytes) -> list[Upload]:
    rows = conn.execute(
        f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE bucket=? AND key>=? ORDER BY key, initiated, upload_id",
        (bucket, start),
    ).fetchall()
    return [_upload(r) for r in rows]


def insert(conn: sqlite3.Connection, upload_id: str, bucket: str, key: bytes, meta: dict[str, Any], owner: str) -> None:
    conn.execute(
        f"INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        (upload_id, bucket, key, time.time(), json.dumps(meta), owner),
    )


def parts(conn: sqlite3.Connection, upload_id: str, after: int = 0, limit: int = -1) -> list[StoredPart]:
    rows = conn.execute(
        f"SELECT {PART_COLUMNS} FROM parts WHERE upload_id=? AND part_number>? ORDER BY part_number LIMIT ?",
        (upload_id, after, limit),
    ).fetchall()
    return [_part(r) for r in rows]


def put_part(conn: sqlite3.Connection, upload_id: str, part: StoredPart) -> str | None:
    """Record a part (a part re-uploaded under the same number replaces it); the replaced part's blob."""
    if conn.execute("SELECT 1 FROM uploads WHERE upload_id=?", (upload_id,)).fetchone() is None:
        raise NoSuchUpload(upload_id)
    old = conn.execute(
        "SELECT blob FROM parts WHERE upload_id=? AND part_number=?", (upload_id, part.number)
    ).fetchone()
    conn.execute(
        f"INSERT OR REPLACE INTO parts (upload_id, {PART_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (upload_id, part.number, part.size, part.etag, part.mtime, part.blob,
         json.dumps(part.checksum) if part.checksum else None),
    )  # fmt: skip
    return str(old[0]) if old else None


def remove(conn: sqlite3.Connection, upload_id: str) -> list[str]:
    """Drop an upload and its parts; their blobs (to unlink after COMMIT, unless the caller kept them)."""
    blobs = [r[0] for r in conn.execute("SELECT blob FROM parts WHERE upload_id=?", (upload_id,))]
    conn.execute("DELETE FROM parts WHERE upload_id=?", (upload_id,))
    conn.execute("DELETE FROM uploads WHERE upload_id=?", (upload_id,))
    return blobs


def remove_in_bucket(conn: sqlite3.Connection, bucket: str) -> list[str]:
    blobs = [
        r[0]
        for r in conn.execute(
            "SELECT p.blob FROM parts p JOIN uploads u ON p.upload_id=u.upload_id WHERE u.bucket=?", (bucket,)
        )
    ]
    conn.execute("DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket=?)", (bucket,))
    conn.execute("DELETE FROM uploads WHERE bucket=?", (bucket,))
    return blobs


def part_blobs(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT blob FROM parts")}


def part_bytes(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(sum(size), 0) FROM parts").fetchone()[0])


@dataclass(slots=True)
class NewPart:
    """A part as the gateway's early shipping sees it: which upload it belongs to, and where it stands."""

    seq: int  # the row's rowid: parts recorded (or replaced) later have higher ones
    upload: Upload
    part: StoredPart


def parts_after(conn: sqlite3.Connection, seq: int, limit: int) -> list[NewPart]:
    """Parts recorded after ``seq`` (a replaced part gets a new row, so it comes again), oldest first."""
    cols = (
        ", ".join(f"u.{c.strip()}" for c in UPLOAD_COLUMNS.split(","))
        + ", "
        + ", ".join(f"p.{c.strip()}" for c in PART_COLUMNS.split(","))
    )
    rows = conn.execute(
        f"SELECT p.rowid, {cols} FROM parts p JOIN uploads u ON p.upload_id=u.upload_id WHERE p.rowid>? "
        "ORDER BY p.rowid LIMIT ?",
        (seq, limit),
    ).fetchall()
    return [NewPart(r[0], _upload(r[1:7]), _part(r[7:])) for r in rows]


def open_ids(conn: sqlite3.Connection, upload_ids: list[str]) -> set[str]:
    """Which of these uploads are still in progress."""
    if not upload_ids:
        return set()
    q = ",".join("?" * len(upload_ids))
    return {r[0] for r in conn.execute(f"SELECT upload_id FROM uploads WHERE upload_id IN ({q})", upload_ids)}
