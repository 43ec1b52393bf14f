"""Every table of the metadata store, in one place, and the migrations between schema versions.

Each table family has one owner module that reads and writes it:

| tables | owner |
|---|---|
| ``buckets`` | ``store/store.py`` (``Store``) |
| ``objects`` | ``store/objects.py`` |
| ``versions`` | ``store/versions.py`` |
| ``journal`` | ``store/journal.py`` |
| ``uploads``, ``parts``, ``completed_uploads`` | ``store/multipart.py`` |
| ``state`` (named values: ``schema``, ``hwm``, remote health) | ``store/state.py`` |
| ``ship_state`` | ``store/ship_state.py`` |
| ``cache_entries``, ``cache_reservations``, ``cache_pins``, ``cache_validated`` | ``store/cache_index.py`` |
| ``sync_pairs``, ``sync_files`` | ``store/sync_state.py`` |

Keys are stored as BLOBs (their UTF-8 bytes): SQLite then orders them byte-wise, which is S3's
listing order, and listing can seek past a common prefix by incrementing its last byte.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 3

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
    version INTEGER NOT NULL,  -- the LSN of the write that made this row; 0: the row came from the remote
    meta TEXT NOT NULL,
    checksum TEXT,
    tags TEXT,
    blob TEXT,                 -- where the bytes are: one blob file,
    parts TEXT,                --   a list of part blobs (JSON),
    data BLOB,                 --   or inline; none of the three: remote-only (gateway mode)
    version_id TEXT,           -- NULL: the "null" version (written while versioning was off or suspended)
    PRIMARY KEY (bucket, key)
);
CREATE TABLE IF NOT EXISTS versions (  -- noncurrent versions and delete markers (store/versions.py)
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    seq INTEGER NOT NULL,      -- newest first: the LSN of the write that made this version current
    version_id TEXT,           -- NULL: the "null" version
    marker INTEGER NOT NULL,   -- 1: a delete marker (no bytes, no metadata)
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    mtime REAL NOT NULL,
    meta TEXT NOT NULL,
    checksum TEXT,
    tags TEXT,
    blob TEXT,
    parts TEXT,
    data BLOB,
    PRIMARY KEY (bucket, key, seq)
);
CREATE TABLE IF NOT EXISTS journal (
    lsn INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    op TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key BLOB,
    size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS journal_by_key ON journal (bucket, key, lsn);
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
CREATE TABLE IF NOT EXISTS completed_uploads (  -- for a while: a repeated Complete answers the same
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
CREATE TABLE IF NOT EXISTS ship_state (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,  -- the newest object version (LSN) applied on the remote
    remote_etag TEXT,
    error TEXT,
    error_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    shipped_at REAL,
    uncertain_etag TEXT,                 -- ETag of a PUT whose outcome was unknown (timeout): a late copy to repair
    held INTEGER NOT NULL DEFAULT 0,     -- why kept local only: 0 no, 1 tag s3d.upload=false, 2 upload filter (store/ship_state.py)
    PRIMARY KEY (bucket, key)
);
CREATE TABLE IF NOT EXISTS cache_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order, for SIEVE
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    etag TEXT NOT NULL,
    block INTEGER NOT NULL,  -- block index of a remote object, or OWN_BYTES (gateway/cache_index.py)
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
CREATE TABLE IF NOT EXISTS sync_pairs (
    pair TEXT PRIMARY KEY,     -- the folder and bucket/prefix it is kept in sync with (store/sync_state.py)
    status TEXT NOT NULL       -- JSON: counts, last error, last full scan (written by the sync, read by status)
);
CREATE TABLE IF NOT EXISTS sync_files (
    pair TEXT NOT NULL,
    path TEXT NOT NULL,        -- relative to the folder, '/'-separated; a directory ends in '/'
    size INTEGER NOT NULL,     -- the file as it was at the last sync
    mtime_ns INTEGER NOT NULL,
    etag TEXT NOT NULL,        -- the object as it was at the last sync
    PRIMARY KEY (pair, path)
);
"""


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Version 1 kept the local-only hold as a note text ("held: ..."): it becomes the ``held`` column;
    PUTs of unknown outcome get ``uncertain_etag``."""
    columns = _columns(conn, "ship_state")
    if "held" not in columns:
        conn.execute("ALTER TABLE ship_state ADD COLUMN held INTEGER NOT NULL DEFAULT 0")
        conn.execute("UPDATE ship_state SET held=1 WHERE note LIKE 'held%'")  # version 1 knew only the tag
    if "uncertain_etag" not in columns:
        conn.execute("ALTER TABLE ship_state ADD COLUMN uncertain_etag TEXT")


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    """Version 3 keeps object versions: existing objects become their key's "null" version."""
    if "version_id" not in _columns(conn, "objects"):
        conn.execute("ALTER TABLE objects ADD COLUMN version_id TEXT")


MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3}


def create(conn: sqlite3.Connection) -> None:
    """Create the tables (a new data dir) or bring an older data dir's schema up to SCHEMA_VERSION."""
    row = None
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='state'").fetchone():
        row = conn.execute("SELECT value FROM state WHERE name='schema'").fetchone()
    version = SCHEMA_VERSION if row is None else int(row[0])
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"data dir has schema version {version}, this s3d knows {SCHEMA_VERSION}")
    conn.executescript(SCHEMA)  # every statement is IF NOT EXISTS
    if row is not None and version == SCHEMA_VERSION:
        return  # nothing to write: a start on a full disk must not need room
    conn.execute("BEGIN IMMEDIATE")
    try:
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](conn)
            version += 1
        conn.execute("INSERT OR REPLACE INTO state (name, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite rolls back a COMMIT that failed for a full disk by itself
            conn.execute("ROLLBACK")
        raise
