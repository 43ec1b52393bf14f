"""The metadata store: SQLite in WAL mode, shared safely by every worker process.

synchronous=FULL makes every COMMIT fsync the WAL, so a committed row is on
disk. The tables, and who owns each, are in schema.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from s3d.store import schema

WAL_KEPT = 8 << 20  # a WAL reset after a checkpoint is cut back to this size (SQLite keeps all of it otherwise)


def connect(path: str, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
    conn.execute("PRAGMA busy_timeout=60000")
    if not readonly:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA journal_size_limit={WAL_KEPT}")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA cache_size=-16000")
    return conn


def init(path: str) -> None:
    """Create or migrate the schema (store/schema.py)."""
    conn = connect(path)
    try:
        schema.create(conn)
    finally:
        conn.close()


@contextmanager
def one_read(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Several queries that must see one snapshot (a commit between them would be half seen otherwise)."""
    if conn.in_transaction:  # already inside one: it is the snapshot
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")  # nothing was written: ends the read
