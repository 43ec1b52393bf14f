"""Local capacity and the read cache's index: the ``cache_*`` tables, and their only owner.

    used = unshipped journal bytes + unfinished multipart parts + held objects
         + noncurrent object versions                                            (dirty: never evicted)
         + cache entries (fetched blocks, shipped local objects)                   (clean: evicted on demand)
         + reservations (bytes being written right now)

Every writer (a PUT, an UploadPart, a block fetch) first reserves its size in one transaction,
evicting clean entries until the reservation fits, so the bound holds at all times, for all worker
processes together. Pinned entries (tag ``s3d.cache=pin`` or a pinned prefix) are never evicted.

Eviction order is SIEVE: entries sit in insertion order (their id); a hit sets ``visited``; a hand
sweeps from the oldest, clearing ``visited`` bits and evicting the first unvisited entry. One pass
over a big prefix inserts entries that are never visited, so the hand takes those and spares the
hot set.
"""

from __future__ import annotations

import sqlite3
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from s3d.store import buckets, db, journal, objects, ship_state, state, uploads, versions
from s3d.store.listing import successor

PIN_TAG = ("s3d.cache", "pin")
OWN_BYTES = -1  # ``block`` of an entry that stands for a shipped local object's own bytes (no blob of its own)
SWEEP = 256
SWEEP_ROUNDS = 3  # full turns of the hand before giving up
# set by a prefetch: entries with this id or higher (what it fetched itself) are not evicted for it
PROTECT_FROM: ContextVar[int | None] = ContextVar("s3d_protect_from", default=None)


@dataclass(slots=True)
class Evicted:
    blobs: list[str] = field(default_factory=list)  # files to unlink once the transaction commits
    entries: int = 0
    bytes: int = 0


@dataclass(slots=True)
class Block:
    id: int
    blob: str | None
    size: int
    visited: bool


# ---------- capacity ----------
def usage(conn: sqlite3.Connection) -> dict[str, int]:
    with db.one_read(conn):  # a shipped object moves from dirty to clean in one commit: never seen in both
        dirty = (
            journal.pending_bytes(conn)
            + uploads.part_bytes(conn)
            + ship_state.held_bytes(conn)
            + versions.noncurrent_bytes(conn)
        )
        clean = int(conn.execute("SELECT coalesce(sum(size), 0) FROM cache_entries").fetchone()[0])
        reserved = int(conn.execute("SELECT coalesce(sum(bytes), 0) FROM cache_reservations").fetchone()[0])
    return {"dirty": dirty, "clean": clean, "reserved": reserved}


def used(conn: sqlite3.Connection) -> int:
    return sum(usage(conn).values())


def has_pin_tag(tags: list[tuple[str, str]] | None) -> bool:
    return bool(tags) and PIN_TAG in [tuple(t) for t in tags or []]


def pinned(conn: sqlite3.Connection, bucket: str, key: bytes) -> bool:
    if has_pin_tag(objects.tags_of(conn, bucket, key)):
        return True
    return any(
        key.startswith(prefix) for (prefix,) in conn.execute("SELECT prefix FROM cache_pins WHERE bucket=?", (bucket,))
    )


def pin_prefix(conn: sqlite3.Connection, bucket: str, prefix: bytes) -> None:
    conn.execute("INSERT OR IGNORE INTO cache_pins (bucket, prefix) VALUES (?, ?)", (bucket, prefix))


def pinned_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of cache entries that eviction must spare: tagged s3d.cache=pin, or under a pinned prefix."""
    total = 0
    for bucket, key, size in conn.execute("SELECT bucket, key, size FROM cache_entries").fetchall():
        if has_pin_tag(objects.tags_of(conn, bucket, key)):
            total += size
    for bucket, prefix in conn.execute("SELECT bucket, prefix FROM cache_pins").fetchall():
        end = successor(prefix)
        sql = "SELECT coalesce(sum(size), 0) FROM cache_entries WHERE bucket=? AND key>=?"
        args: list[object] = [bucket, prefix]
        if end is not None:
            sql += " AND key<?"
            args.append(end)
        total += conn.execute(sql, args).fetchone()[0]
    return int(total)


def _evict_one(
    conn: sqlite3.Connection, entry: tuple[int, str, bytes, str, int, int, str | None], out: Evicted
) -> bool:
    """Drop one clean entry if it still is one; False if it must stay (pinned)."""
    eid, bucket, key, etag, block, size, blob = entry
    if pinned(conn, bucket, key):
        return False
    if block == OWN_BYTES:
        if buckets.versioning(conn, bucket) is not None:
            return False  # a version's bytes stay local: once superseded it is a noncurrent version
        if not journal.has_pending(conn, bucket, key):
            # the object stays in the namespace as remote-only: reads go to the remote (and the block cache)
            out.blobs.extend(objects.drop_local_bytes(conn, bucket, key, etag) or [])
        # else: its bytes became dirty again; the stale entry only needs dropping
    elif blob:
        out.blobs.append(blob)
    conn.execute("DELETE FROM cache_entries WHERE id=?", (eid,))
    out.entries += 1
    out.bytes += size
    return True


def evict(conn: sqlite3.Connection, need: int, protect_from: int | None = None) -> Evicted:
    """Free at least ``need`` bytes of clean entries (fewer if not enough are evictable)."""
    out = Evicted()
    hand = int(state.get(conn, state.SIEVE_HAND, 0) or 0)
    wrapped = 0
    while out.bytes < need and wrapped < SWEEP_ROUNDS:
        rows = conn.execute(
            "SELECT id, bucket, key, etag, block, size, blob, visited FROM cache_entries WHERE id >= ? ORDER BY id LIMIT ?",
            (hand, SWEEP),
        ).fetchall()
        if not rows:
            hand, wrapped = 0, wrapped + 1
            continue
        for r in rows:
            hand = r[0] + 1
            if protect_from is not None and r[0] >= protect_from:
                continue
            if r[7]:
                conn.execute("UPDATE cache_entries SET visited=0 WHERE id=?", (r[0],))
                continue
            _evict_one(conn, r[:7], out)
            if out.bytes >= need:
                break
    state.put(conn, state.SIEVE_HAND, hand)
    return out


def reserve(
    conn: sqlite3.Connection, nbytes: int, capacity: int, protect_from: int | None = None
) -> tuple[int | None, Evicted]:
    """Reserve room for nbytes, evicting as needed. (None, ...) if dirty and pinned data leave no room."""
    current = used(conn)
    ev = Evicted()
    if current + nbytes > capacity:
        ev = evict(conn, current + nbytes - capacity, protect_from)
        if current - ev.bytes + nbytes > capacity:
            return None, ev
    cur = conn.execute("INSERT INTO cache_reservations (bytes, at) VALUES (?, ?)", (nbytes, time.time()))
    return cur.lastrowid, ev


def release(conn: sqlite3.Connection, reservation: int) -> None:
    conn.execute("DELETE FROM cache_reservations WHERE id=?", (reservation,))


def clear_reservations(conn: sqlite3.Connection) -> None:
    """At start-up: reservations were held by processes that no longer exist (no write when there are none)."""
    if conn.execute("SELECT 1 FROM cache_reservations LIMIT 1").fetchone() is not None:
        conn.execute("DELETE FROM cache_reservations")


def newest_entry(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM cache_entries").fetchone()[0])


# ---------- blocks of remote objects ----------
def blocks(conn: sqlite3.Connection, bucket: str, key: bytes, etag: str, first: int, last: int) -> dict[int, Block]:
    rows = conn.execute(
        "SELECT block, id, blob, size, visited FROM cache_entries WHERE bucket=? AND key=? AND etag=? AND block BETWEEN ? AND ?",
        (bucket, key, etag, first, last),
    ).fetchall()
    return {r[0]: Block(r[1], r[2], r[3], bool(r[4])) for r in rows}


def add_block(conn: sqlite3.Connection, bucket: str, key: bytes, etag: str, block: int, size: int, blob: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO cache_entries (bucket, key, etag, block, size, blob) VALUES (?, ?, ?, ?, ?, ?)",
        (bucket, key, etag, block, size, blob),
    )


def add_own_bytes(conn: sqlite3.Connection, bucket: str, key: bytes, etag: str, size: int) -> None:
    """A shipped local object's bytes are now clean: the read cache may evict them when room is needed."""
    conn.execute(
        "INSERT OR REPLACE INTO cache_entries (bucket, key, etag, block, size, blob) VALUES (?, ?, ?, ?, ?, NULL)",
        (bucket, key, etag, OWN_BYTES, size),
    )


def forget_own_bytes(conn: sqlite3.Connection, bucket: str, key: bytes) -> None:
    conn.execute("DELETE FROM cache_entries WHERE bucket=? AND key=? AND block=?", (bucket, key, OWN_BYTES))


def visit(conn: sqlite3.Connection, ids: list[int]) -> None:
    conn.execute(f"UPDATE cache_entries SET visited=1 WHERE id IN ({','.join('?' * len(ids))})", ids)


def block_blobs(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT blob FROM cache_entries WHERE blob IS NOT NULL")}


# ---------- revalidation ----------
def validated_at(conn: sqlite3.Connection, bucket: str, key: bytes, etag: str) -> float:
    row = conn.execute(
        "SELECT at FROM cache_validated WHERE bucket=? AND key=? AND etag=?", (bucket, key, etag)
    ).fetchone()
    return float(row[0]) if row else 0.0


def mark_validated(conn: sqlite3.Connection, bucket: str, key: bytes, etag: str, at: float) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO cache_validated (bucket, key, etag, at) VALUES (?, ?, ?, ?)", (bucket, key, etag, at)
    )
