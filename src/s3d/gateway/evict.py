"""Local capacity: one bound over dirty and clean bytes, kept by reserving before writing.

    used = unshipped journal bytes + unfinished multipart parts      (dirty: never evicted)
         + cache entries (fetched blocks, shipped local objects)     (clean: evicted on demand)
         + reservations (bytes being written right now)

Every writer (a PUT, an UploadPart, a block fetch) first reserves its size in
one SQLite transaction, evicting clean entries until the reservation fits, so
the bound holds at all times, for all worker processes together, not just at
a periodic check. Pinned entries (tag ``s3d.cache=pin`` or a pinned prefix)
are never evicted.

Eviction order is SIEVE: entries sit in insertion order (their id); a hit
sets ``visited``; a hand sweeps from the oldest, clearing ``visited`` bits and
evicting the first unvisited entry. One pass over a big prefix inserts entries
that are never visited, so the hand takes those and spares the hot set.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from s3d.gateway import state
from s3d.store.listing import successor

PIN_TAG = ["s3d.cache", "pin"]
SWEEP = 256
# set by a prefetch: entries with this id or higher (what it fetched itself) are not evicted for it
PROTECT_FROM: ContextVar[int | None] = ContextVar("s3d_protect_from", default=None)


@dataclass(slots=True)
class Evicted:
    blobs: list[str] = field(default_factory=list)  # files to unlink once the transaction commits
    entries: int = 0
    bytes: int = 0


def usage(conn: sqlite3.Connection) -> dict[str, int]:
    dirty = conn.execute("SELECT coalesce(sum(size), 0) FROM journal").fetchone()[0]
    parts = conn.execute("SELECT coalesce(sum(size), 0) FROM parts").fetchone()[0]
    clean = conn.execute("SELECT coalesce(sum(size), 0) FROM cache_entries").fetchone()[0]
    reserved = conn.execute("SELECT coalesce(sum(bytes), 0) FROM cache_reservations").fetchone()[0]
    # objects held back by s3d.upload=false never ship: they stay, like dirty data
    held = conn.execute(
        "SELECT coalesce(sum(o.size), 0) FROM ship_state s JOIN objects o ON o.bucket=s.bucket AND o.key=s.key "
        "WHERE s.note LIKE 'held%'"
    ).fetchone()[0]
    return {"dirty": int(dirty) + int(parts) + int(held), "clean": int(clean), "reserved": int(reserved)}


def used(conn: sqlite3.Connection) -> int:
    return sum(usage(conn).values())


def pinned(conn: sqlite3.Connection, bucket: str, key: bytes) -> bool:
    row = conn.execute("SELECT tags FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
    if row and row[0] and PIN_TAG in json.loads(row[0]):
        return True
    for (prefix,) in conn.execute("SELECT prefix FROM cache_pins WHERE bucket=?", (bucket,)):
        if key.startswith(prefix):
            return True
    return False


def pinned_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of cache entries that eviction must spare: tagged s3d.cache=pin, or under a pinned prefix."""
    total = conn.execute(
        "SELECT coalesce(sum(c.size), 0) FROM cache_entries c JOIN objects o ON o.bucket=c.bucket AND o.key=c.key "
        "WHERE o.tags LIKE ?",
        ('%"s3d.cache", "pin"%',),
    ).fetchone()[0]
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
    """Drop one clean entry if it still is one; False if it must stay (pinned, or its bytes became dirty)."""
    eid, bucket, key, etag, block, size, blob = entry
    if pinned(conn, bucket, key):
        return False
    if block == -1:
        row = conn.execute(
            "SELECT etag, blob, parts, data FROM objects WHERE bucket=? AND key=?", (bucket, key)
        ).fetchone()
        dirty = conn.execute("SELECT 1 FROM journal WHERE bucket=? AND key=? LIMIT 1", (bucket, key)).fetchone()
        if row is not None and row[0] == etag and dirty is None:
            # the object stays in the namespace as remote-only: reads go to the remote (and the block cache)
            conn.execute("UPDATE objects SET blob=NULL, parts=NULL, data=NULL WHERE bucket=? AND key=?", (bucket, key))
            if row[1]:
                out.blobs.append(row[1])
            if row[2]:
                out.blobs.extend(p[3] for p in json.loads(row[2]))
        # else: the entry is stale (the object changed or went): it only needs dropping
    elif blob:
        out.blobs.append(blob)
    conn.execute("DELETE FROM cache_entries WHERE id=?", (eid,))
    out.entries += 1
    out.bytes += size
    return True


def evict(conn: sqlite3.Connection, need: int, protect_from: int | None = None) -> Evicted:
    """Free at least ``need`` bytes of clean entries (fewer if not enough are evictable)."""
    out = Evicted()
    hand = int(state.get(conn, "sieve_hand", 0) or 0)
    wrapped = 0
    while out.bytes < need and wrapped < 3:
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
    state.put(conn, "sieve_hand", hand)
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


def newest_entry(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM cache_entries").fetchone()[0])


def release(conn: sqlite3.Connection, reservation: int) -> None:
    conn.execute("DELETE FROM cache_reservations WHERE id=?", (reservation,))
