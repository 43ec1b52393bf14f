"""The ``buckets`` table: the only module that reads or writes it."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COLUMNS = "name, owner, created, region, config"


@dataclass(slots=True)
class Bucket:
    name: str
    owner: str
    created: float
    region: str
    config: dict[str, Any] = field(default_factory=dict)


def from_row(row: tuple[Any, ...]) -> Bucket:
    return Bucket(row[0], row[1], row[2], row[3], json.loads(row[4]) if row[4] != "{}" else {})


def get(conn: sqlite3.Connection, name: str) -> Bucket | None:
    row = conn.execute(f"SELECT {COLUMNS} FROM buckets WHERE name=?", (name,)).fetchone()
    return from_row(row) if row else None


def owner(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT owner FROM buckets WHERE name=?", (name,)).fetchone()
    return None if row is None else str(row[0])


def exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM buckets WHERE name=?", (name,)).fetchone() is not None


def all_buckets(conn: sqlite3.Connection, owned_by: str | None = None) -> list[Bucket]:
    if owned_by is None:
        rows = conn.execute(f"SELECT {COLUMNS} FROM buckets ORDER BY name").fetchall()
    else:
        rows = conn.execute(f"SELECT {COLUMNS} FROM buckets WHERE owner=? ORDER BY name", (owned_by,)).fetchall()
    return [from_row(r) for r in rows]


def insert(
    conn: sqlite3.Connection, name: str, owned_by: str, region: str, config: dict[str, Any] | None = None
) -> bool:
    """Add a bucket unless one of that name exists; True if added."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO buckets (name, owner, created, region, config) VALUES (?, ?, ?, ?, ?)",
        (name, owned_by, time.time(), region, json.dumps(config or {})),
    )
    return cur.rowcount > 0


def delete(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM buckets WHERE name=?", (name,))


def set_entry(config: dict[str, Any], item: str, value: Any) -> None:
    """Set (or with None, remove) one entry of a bucket's configuration."""
    if value is None:
        config.pop(item, None)
    else:
        config[item] = value


def set_config(conn: sqlite3.Connection, name: str, item: str, value: Any) -> bool:
    """Set (or with None, remove) one entry of a bucket's configuration; False if there is no such bucket."""
    return update_config(conn, name, lambda config: set_entry(config, item, value))


def update_config(conn: sqlite3.Connection, name: str, change: Callable[[dict[str, Any]], None]) -> bool:
    """Change a bucket's configuration in place (``change`` may raise to refuse); False if there is no such bucket."""
    row = conn.execute("SELECT config FROM buckets WHERE name=?", (name,)).fetchone()
    if row is None:
        return False
    config = json.loads(row[0])
    change(config)
    conn.execute("UPDATE buckets SET config=? WHERE name=?", (json.dumps(config), name))
    return True


VERSIONING = "versioning"  # the config entry holding a bucket's versioning state (store/versions.py)


OBJECT_LOCK = "object_lock"  # the config entry holding a bucket's object lock configuration (store/locks.py)


@dataclass(frozen=True, slots=True)
class WriteState:
    """What an object write needs to know about its bucket, read in the committing transaction."""

    owner: str
    versioning: str | None  # None: never enabled
    lock_enabled: bool
    lock_rule: dict[str, Any] | None  # the default retention


def write_state(conn: sqlite3.Connection, name: str) -> WriteState | None:
    row = conn.execute(
        f"SELECT owner, json_extract(config, '$.{VERSIONING}'), json_extract(config, '$.{OBJECT_LOCK}') "
        "FROM buckets WHERE name=?",
        (name,),
    ).fetchone()
    if row is None:
        return None
    lock = json.loads(row[2]) if row[2] is not None else None
    return WriteState(str(row[0]), row[1], lock is not None, lock or None)


def versioning(conn: sqlite3.Connection, name: str) -> str | None:
    found = write_state(conn, name)
    return None if found is None else found.versioning
