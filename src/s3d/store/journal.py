"""The journal: one record per committed mutation, in LSN order. The only module that touches the table.

A record is appended in the same transaction as the change it describes, so LSNs increase in commit
order across every worker process (SQLite has one writer at a time and the LSN is an AUTOINCREMENT
key). The current LSN is the table's sequence value, which never goes back even as records leave.
In gateway mode a record leaves the journal once it is applied on the remote, so the journal holds
exactly what the remote does not have yet.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum

DELETE_CHUNK = 500  # SQLite's bound on host parameters is far above this


class Op(StrEnum):
    PUT = "put"
    DELETE = "delete"
    VERSION = "version"  # noncurrent versions changed; the key's current state did not (store/versions.py)
    TAGS = "tags"
    CREATE_BUCKET = "create_bucket"
    DELETE_BUCKET = "delete_bucket"
    BUCKET_CONFIG = "bucket_config"
    # the remote was found to differ from the log for this key (a late write landed): apply its state again,
    # whatever ship_state says was applied
    REPAIR = "repair"
    # look at this key again now (an admin retried or discarded a failed key): wakes a slow retry
    RETRY = "retry"


BUCKET_OPS = frozenset({Op.CREATE_BUCKET, Op.DELETE_BUCKET, Op.BUCKET_CONFIG})


@dataclass(slots=True)
class Record:
    lsn: int
    ts: float
    op: str
    bucket: str
    key: bytes | None
    size: int


@dataclass(slots=True)
class Lag:
    records: int
    bytes: int
    oldest_ts: float | None


def append(conn: sqlite3.Connection, op: Op, bucket: str, key: bytes | None, size: int = 0) -> int:
    """Add a record inside the caller's transaction; returns its LSN."""
    cur = conn.execute(
        "INSERT INTO journal (ts, op, bucket, key, size) VALUES (?, ?, ?, ?, ?)",
        (time.time(), op.value, bucket, key, size),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def current_lsn(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='journal'").fetchone()
    return int(row[0]) if row else 0


def pending(conn: sqlite3.Connection, after: int, limit: int) -> list[Record]:
    rows = conn.execute(
        "SELECT lsn, ts, op, bucket, key, size FROM journal WHERE lsn > ? ORDER BY lsn LIMIT ?", (after, limit)
    ).fetchall()
    return [Record(*r) for r in rows]


def applied(conn: sqlite3.Connection, lsns: list[int]) -> None:
    """Records now on the remote leave the journal (inside the caller's transaction)."""
    for i in range(0, len(lsns), DELETE_CHUNK):
        chunk = lsns[i : i + DELETE_CHUNK]
        conn.execute(f"DELETE FROM journal WHERE lsn IN ({','.join('?' * len(chunk))})", chunk)


def has_pending(conn: sqlite3.Connection, bucket: str, key: bytes | None = None, after: int = 0) -> bool:
    """Unshipped records for this key (or, without a key, anywhere in this bucket), above LSN ``after``."""
    if key is None:
        row = conn.execute("SELECT 1 FROM journal WHERE bucket=? AND lsn>? LIMIT 1", (bucket, after)).fetchone()
    else:
        q = "SELECT 1 FROM journal WHERE bucket=? AND key=? AND lsn>? LIMIT 1"
        row = conn.execute(q, (bucket, key, after)).fetchone()
    return row is not None


def pending_through(conn: sqlite3.Connection, bucket: str, lsn: int) -> bool:
    """Unshipped records of this bucket at or below an LSN (what a per-bucket flush waits for)."""
    return conn.execute("SELECT 1 FROM journal WHERE bucket=? AND lsn<=? LIMIT 1", (bucket, lsn)).fetchone() is not None


def lag(conn: sqlite3.Connection, bucket: str | None = None) -> Lag:
    if bucket is None:
        row = conn.execute("SELECT count(*), coalesce(sum(size), 0), min(ts) FROM journal").fetchone()
    else:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(size), 0), min(ts) FROM journal WHERE bucket=?", (bucket,)
        ).fetchone()
    return Lag(int(row[0]), int(row[1]), row[2])


def pending_bytes(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(sum(size), 0) FROM journal").fetchone()[0])
