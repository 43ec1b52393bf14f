"""The sync directory's own tables: what each folder and its bucket looked like at the last sync
(``sync_files``, the base of the three-way comparison) and each pair's published status (``sync_pairs``).

Written only by the sync (the daemon's main process); the status is read by any worker for
``GET /_s3d/sync``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Base:
    """One path as both sides looked at the last sync: the file's size and mtime, the object's ETag."""

    size: int
    mtime_ns: int
    etag: str


def load_base(conn: sqlite3.Connection, pair: str) -> dict[str, Base]:
    rows = conn.execute("SELECT path, size, mtime_ns, etag FROM sync_files WHERE pair=?", (pair,))
    return {path: Base(size, mtime_ns, etag) for path, size, mtime_ns, etag in rows}


def put_base(conn: sqlite3.Connection, pair: str, path: str, base: Base) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sync_files (pair, path, size, mtime_ns, etag) VALUES (?, ?, ?, ?, ?)",
        (pair, path, base.size, base.mtime_ns, base.etag),
    )


def forget_base(conn: sqlite3.Connection, pair: str, path: str) -> None:
    conn.execute("DELETE FROM sync_files WHERE pair=? AND path=?", (pair, path))


def put_status(conn: sqlite3.Connection, pair: str, status: dict[str, Any]) -> None:
    conn.execute("INSERT OR REPLACE INTO sync_pairs (pair, status) VALUES (?, ?)", (pair, json.dumps(status)))


def get_status(conn: sqlite3.Connection, pair: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT status FROM sync_pairs WHERE pair=?", (pair,)).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def all_status(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(json.loads(r[0])) for r in conn.execute("SELECT status FROM sync_pairs ORDER BY pair")]


def drop_pairs_except(conn: sqlite3.Connection, keep: list[str]) -> None:
    """Published status of pairs no longer configured goes (their base stays, should they come back)."""
    marks = ",".join("?" * len(keep))
    conn.execute(f"DELETE FROM sync_pairs WHERE pair NOT IN ({marks})", keep)
