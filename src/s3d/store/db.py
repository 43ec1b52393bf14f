"""The metadata store: SQLite in WAL mode, shared safely by every worker process.

synchronous=FULL makes every COMMIT fsync the WAL, so a committed row is on
disk. Keys are stored as BLOBs (their UTF-8 bytes): SQLite then orders them
byte-wise, which is S3's listing order, and listing can seek past a common
prefix by incrementing its last byte.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created REAL NOT NULL,
    region TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    mtime REAL NOT NULL,
    version INTEGER NOT NULL,
    meta TEXT NOT NULL,
    checksum TEXT,
    tags TEXT,
    blob TEXT,
    parts TEXT,
    data BLOB,
    PRIMARY KEY (bucket, key)
);
CREATE TABLE IF NOT EXISTS journal (
    lsn INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    op TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key BLOB,
    size INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    initiated REAL NOT NULL,
    meta TEXT NOT NULL,
    owner TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, initiated);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    mtime REAL NOT NULL,
    blob TEXT NOT NULL,
    checksum TEXT,
    PRIMARY KEY (upload_id, part_number)
);
CREATE TABLE IF NOT EXISTS completed_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    parts TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    checksum TEXT,
    completed REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    name TEXT PRIMARY KEY,
    value
);
"""


def connect(path: str, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
    conn.execute("PRAGMA busy_timeout=60000")
    if not readonly:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA cache_size=-16000")
    return conn


def init(path: str) -> None:
    conn = connect(path)
    try:
        conn.executescript(SCHEMA)
        row = conn.execute("SELECT value FROM state WHERE name='schema'").fetchone()
        if row is None:
            conn.execute("INSERT INTO state VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise RuntimeError(f"data dir has schema version {row[0]}, this s3d knows {SCHEMA_VERSION}")
    finally:
        conn.close()
