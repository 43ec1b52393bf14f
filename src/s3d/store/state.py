"""Named values of the ``state`` table (schema version, the shipper's HWM and published health)."""

from __future__ import annotations

import sqlite3
from typing import Any

HWM = "hwm"
REMOTE_REACHABLE = "remote_reachable"
REMOTE_ERROR = "remote_error"
REMOTE_DOWN_SINCE = "remote_down_since"
REMOTE_CONDITIONAL_WRITES = "remote_conditional_writes"  # True/False once probed (gateway/conditional.py)
REMOTE_REFRESHED_AT = "remote_refreshed_at"  # epoch seconds: the end of the last whole listing (gateway/refresh.py)
DIRTY_BYTES = "dirty_bytes"
SIEVE_HAND = "sieve_hand"


def get(conn: sqlite3.Connection, name: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM state WHERE name=?", (name,)).fetchone()
    return default if row is None else row[0]


def put(conn: sqlite3.Connection, name: str, value: Any) -> None:
    conn.execute("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, value))


def hwm(conn: sqlite3.Connection) -> int:
    return int(get(conn, HWM, 0) or 0)
