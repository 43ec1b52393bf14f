"""The ``ship_state`` table: per key, what the shipper last applied on the remote. Its only owner.

- ``version``: the newest object version (the LSN of the write) applied remotely, so a restart
  skips what was already shipped above HWM;
- ``remote_etag``: the ETag the remote holds for that version (None after a delete);
- ``error``/``error_at``/``attempts``: the last permanent failure while the remote keeps refusing;
- ``held``: kept local only by policy (tag ``s3d.upload=false``), never shipped;
- ``note``: a difference worth telling (the remote dropped tags, changed the ETag...).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

DISCARDED = "discarded"  # remote_etag of a key an admin gave up shipping: the remote state is unknown
# ``held``: why a key is kept local only (never shipped, never evicted, not waited for by flush)
NOT_HELD = 0
HELD_BY_TAG = 1  # the object's tag s3d.upload=false
HELD_BY_FILTER = 2  # the upload filter (docs/filters.md) excludes it
HELD_SSE_C = 3  # encrypted with a customer's key (SSE-C), which s3d never keeps: never shipped (docs/encryption.md)


@dataclass(slots=True)
class Shipped:
    version: int
    remote_etag: str | None
    held: int  # NOT_HELD, HELD_BY_TAG or HELD_BY_FILTER
    shipped_at: float | None = None
    uncertain_etag: str | None = None


def get(conn: sqlite3.Connection, bucket: str, key: bytes) -> Shipped | None:
    row = conn.execute(
        "SELECT version, remote_etag, held, shipped_at, uncertain_etag FROM ship_state WHERE bucket=? AND key=?",
        (bucket, key),
    ).fetchone()
    return Shipped(row[0], row[1], int(row[2]), row[3], row[4]) if row else None


def uncertain(conn: sqlite3.Connection, bucket: str, key: bytes, etag: str | None) -> None:
    """A PUT of this ETag may still land on the remote (its outcome is unknown); None once verified."""
    conn.execute(
        "INSERT INTO ship_state (bucket, key, uncertain_etag) VALUES (?, ?, ?) "
        "ON CONFLICT (bucket, key) DO UPDATE SET uncertain_etag=excluded.uncertain_etag",
        (bucket, key, etag),
    )


def remote_etag(conn: sqlite3.Connection, bucket: str, key: bytes) -> str | None:
    """The ETag the remote holds for the shipped version, if known."""
    row = conn.execute("SELECT remote_etag FROM ship_state WHERE bucket=? AND key=?", (bucket, key)).fetchone()
    return row[0] if row and row[0] and row[0] != DISCARDED else None


def applied(
    conn: sqlite3.Connection,
    bucket: str,
    key: bytes,
    version: int,
    etag: str | None,
    note: str | None = None,
    held: int = NOT_HELD,
) -> None:
    """The remote now matches this version (or, held, it is kept local by policy): clears any error."""
    conn.execute(
        "INSERT INTO ship_state (bucket, key, version, remote_etag, note, shipped_at, held) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (bucket, key) DO UPDATE SET version=excluded.version, remote_etag=excluded.remote_etag, "
        "note=excluded.note, shipped_at=excluded.shipped_at, held=excluded.held, error=NULL, error_at=NULL, attempts=0",
        (bucket, key, version, etag, note, time.time(), held),
    )


def seen(conn: sqlite3.Connection, bucket: str, key: bytes, remote_etag: str) -> None:
    """A local write replaces what the remote was seen to hold: its ship overwrites only that ETag (If-Match)."""
    conn.execute(
        "INSERT INTO ship_state (bucket, key, remote_etag) VALUES (?, ?, ?) "
        "ON CONFLICT (bucket, key) DO UPDATE SET remote_etag=excluded.remote_etag",
        (bucket, key, remote_etag),
    )


def failed(conn: sqlite3.Connection, bucket: str, key: bytes, code: str, message: str, status: int) -> None:
    err = json.dumps({"code": code, "message": message, "status": status})
    conn.execute(
        "INSERT INTO ship_state (bucket, key, error, error_at, attempts) VALUES (?, ?, ?, ?, 1) "
        "ON CONFLICT (bucket, key) DO UPDATE SET error=excluded.error, "
        "error_at=coalesce(ship_state.error_at, excluded.error_at), attempts=ship_state.attempts+1",
        (bucket, key, err, time.time()),
    )


def discard(conn: sqlite3.Connection, bucket: str, key: bytes, version: int) -> bool:
    """An admin gives up shipping a failed key: it counts as handled, the remote state as unknown."""
    cur = conn.execute(
        "UPDATE ship_state SET error=NULL, version=?, remote_etag=?, note='discarded by admin' "
        "WHERE bucket=? AND key=? AND error IS NOT NULL",
        (version, DISCARDED, bucket, key),
    )
    return cur.rowcount > 0


def forget(conn: sqlite3.Connection, bucket: str, key: bytes) -> None:
    """The key's remote state is now the remote's own (another writer moved it on): nothing of ours to track."""
    conn.execute("DELETE FROM ship_state WHERE bucket=? AND key=?", (bucket, key))


def shipped_since(conn: sqlite3.Connection, bucket: str, key: bytes, since: float) -> bool:
    row = conn.execute("SELECT shipped_at FROM ship_state WHERE bucket=? AND key=?", (bucket, key)).fetchone()
    return bool(row and row[0] and row[0] >= since)


def failed_count(conn: sqlite3.Connection, bucket: str | None = None) -> int:
    if bucket is None:
        return int(conn.execute("SELECT count(*) FROM ship_state WHERE error IS NOT NULL").fetchone()[0])
    return int(
        conn.execute("SELECT count(*) FROM ship_state WHERE error IS NOT NULL AND bucket=?", (bucket,)).fetchone()[0]
    )


def failures(conn: sqlite3.Connection, limit: int = 100, buckets: set[str] | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT bucket, key, error, error_at, attempts FROM ship_state WHERE error IS NOT NULL ORDER BY error_at"
    ).fetchall()
    out = [
        {"bucket": b, "key": k.decode(errors="replace"), "error": json.loads(e), "since": t, "attempts": a}
        for b, k, e, t, a in rows
        if buckets is None or b in buckets
    ]
    return out[:limit]


def notes(conn: sqlite3.Connection, limit: int = 100, buckets: set[str] | None = None) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT bucket, key, note FROM ship_state WHERE note IS NOT NULL").fetchall()
    out = [
        {"bucket": b, "key": k.decode(errors="replace"), "note": n}
        for b, k, n in rows
        if buckets is None or b in buckets
    ]
    return out[:limit]


def held_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of objects kept local only by policy: like dirty data, never evicted."""
    row = conn.execute(
        "SELECT coalesce(sum(o.size), 0) FROM ship_state s JOIN objects o ON o.bucket=s.bucket AND o.key=s.key "
        "WHERE s.held != ?",
        (NOT_HELD,),
    ).fetchone()
    return int(row[0])


def held_keys(conn: sqlite3.Connection, why: int, bucket: str | None = None) -> list[tuple[str, bytes]]:
    if bucket is None:
        rows = conn.execute("SELECT bucket, key FROM ship_state WHERE held=?", (why,)).fetchall()
    else:
        rows = conn.execute("SELECT bucket, key FROM ship_state WHERE held=? AND bucket=?", (why, bucket)).fetchall()
    return [(b, k) for b, k in rows]


def held_summary(conn: sqlite3.Connection) -> dict[str, int]:
    """Objects (and their bytes) kept local by the upload filter and by the s3d.upload=false tag (one scan)."""
    out = {f"held_by_{by}_{what}": 0 for by in ("filter", "tag") for what in ("objects", "bytes")}
    rows = conn.execute(
        "SELECT s.held, count(*), coalesce(sum(o.size), 0) FROM ship_state s JOIN objects o "
        "ON o.bucket=s.bucket AND o.key=s.key WHERE s.held != ? GROUP BY s.held",
        (NOT_HELD,),
    ).fetchall()
    for held, n, size in rows:
        if held not in (HELD_BY_FILTER, HELD_BY_TAG):
            continue  # SSE-C objects: held by their nature, not by a policy
        by = "filter" if held == HELD_BY_FILTER else "tag"
        out[f"held_by_{by}_objects"], out[f"held_by_{by}_bytes"] = int(n), int(size)
    return out
