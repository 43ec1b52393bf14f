"""The gateway's persistent state, beside the store's tables in the same SQLite file.

- ``state`` rows: ``hwm`` (remote high-water mark: every journal record at or
  below it is applied on the remote), and the shipper's published health
  (``remote_reachable``, ``remote_error``, ``remote_down_since``, ``dirty_bytes``).
- ``ship_state``: per key, the newest journal LSN applied remotely for it
  (so a restart skips what was already shipped above HWM), and the last
  permanent error, if the remote keeps rejecting it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS ship_state (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    remote_etag TEXT,
    error TEXT,
    error_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    shipped_at REAL,
    PRIMARY KEY (bucket, key)
);
CREATE INDEX IF NOT EXISTS journal_by_key ON journal (bucket, key, lsn);
-- the read cache: clean local bytes, evicted on demand (id order = insertion order, for SIEVE)
CREATE TABLE IF NOT EXISTS cache_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    etag TEXT NOT NULL,
    block INTEGER NOT NULL,  -- block index of a remote object; -1: a shipped local object's own bytes
    size INTEGER NOT NULL,
    blob TEXT,               -- the block's file (blocks only)
    visited INTEGER NOT NULL DEFAULT 0,
    UNIQUE (bucket, key, etag, block)
);
CREATE TABLE IF NOT EXISTS cache_reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bytes INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cache_pins (
    bucket TEXT NOT NULL,
    prefix BLOB NOT NULL,
    PRIMARY KEY (bucket, prefix)
);
CREATE TABLE IF NOT EXISTS cache_validated (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    etag TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (bucket, key)
);
"""


def init(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def get(conn: sqlite3.Connection, name: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM state WHERE name=?", (name,)).fetchone()
    return default if row is None else row[0]


def put(conn: sqlite3.Connection, name: str, value: Any) -> None:
    conn.execute("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, value))


def current_lsn(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='journal'").fetchone()
    return int(row[0]) if row else 0


def hwm(conn: sqlite3.Connection) -> int:
    return int(get(conn, "hwm", 0) or 0)


@dataclass(slots=True)
class Record:
    lsn: int
    ts: float
    op: str
    bucket: str
    key: bytes | None
    size: int


def pending(conn: sqlite3.Connection, after: int, limit: int) -> list[Record]:
    rows = conn.execute(
        "SELECT lsn, ts, op, bucket, key, size FROM journal WHERE lsn > ? ORDER BY lsn LIMIT ?", (after, limit)
    ).fetchall()
    return [Record(*r) for r in rows]


def queue_summary(conn: sqlite3.Connection, bucket: str | None = None) -> dict[str, Any]:
    """Lag: unapplied records, their bytes, the age of the oldest; failed keys."""
    where, args = "1", []  # the journal holds exactly the records not yet applied remotely
    if bucket is not None:
        where = "bucket = ?"
        args.append(bucket)
    n, size, oldest = conn.execute(
        f"SELECT count(*), coalesce(sum(size), 0), min(ts) FROM journal WHERE {where}", args
    ).fetchone()
    fsql, fargs = "SELECT count(*) FROM ship_state WHERE error IS NOT NULL", []
    if bucket is not None:
        fsql += " AND bucket = ?"
        fargs.append(bucket)
    failed = conn.execute(fsql, fargs).fetchone()[0]
    return {
        "pending_records": n,
        "pending_bytes": size,
        "oldest_pending_age_s": round(time.time() - oldest, 3) if oldest else 0.0,
        "failed_records": failed,
    }


def failures(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT bucket, key, error, error_at, attempts FROM ship_state WHERE error IS NOT NULL ORDER BY error_at LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        {"bucket": b, "key": k.decode(errors="replace"), "error": json.loads(e), "since": t, "attempts": a}
        for b, k, e, t, a in rows
    ]


def notes(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT bucket, key, note FROM ship_state WHERE note IS NOT NULL LIMIT ?", (limit,)).fetchall()
    return [{"bucket": b, "key": k.decode(errors="replace"), "note": n} for b, k, n in rows]
