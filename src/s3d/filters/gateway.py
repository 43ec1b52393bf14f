"""Gateway decisions: what ships (upload_filter) and what the read cache keeps (cache_filter).

The tags ``s3d.upload=false`` / ``s3d.upload=true`` win over the upload filter; a pin (tag
``s3d.cache=pin`` or a pinned prefix) wins over the cache filter. An object the upload filter
holds stays local only: it never ships, is never evicted, and does not hold up a flush; a later
change that makes the filter include it ships it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from s3d.filters.evaluate import Filter
from s3d.filters.objects import subject_in
from s3d.store.store import Object, Store

UPLOAD_TAG = "s3d.upload"
HOLD_TAG = (UPLOAD_TAG, "false")
SHIP_TAG = (UPLOAD_TAG, "true")
HELD = "held"  # every ship_state note of a held object starts so (eviction and deletes rely on it)
HELD_BY_TAG = f"{HELD}: {UPLOAD_TAG}=false"
HELD_BY_FILTER = f"{HELD}: upload_filter"
CACHE_BYPASS = "bypass"  # x-s3d-cache for a remote object served without being cached
# the journal op that asks the shipper to look at a held key again: as for a tag change, the shipper then
# ships the object (or only its tags, when this very version was shipped before it was held)
RELEASE_OP = "tags"


def upload_hold(conn: sqlite3.Connection, f: Filter | None, obj: Object) -> str | None:
    """Why this object version stays local (the ship_state note), or None if it ships."""
    tags = obj.tags or ()
    if HOLD_TAG in tags:
        return HELD_BY_TAG
    if SHIP_TAG in tags or f is None:
        return None
    d = f.decide(subject_in(conn, f, obj))
    if d.include:
        return None
    assert d.rule is not None  # the default includes: an exclusion is always a rule's
    return f"{HELD_BY_FILTER} line {d.rule.line}: {d.rule.text()}"


def cache_bypass(conn: sqlite3.Connection, f: Filter | None, obj: Object, pinned: Callable[[], bool]) -> bool:
    """True if a remote object is to be served without keeping its blocks (the cache filter excludes it, no pin)."""
    if f is None:
        return False
    return not f.decide(subject_in(conn, f, obj)).include and not pinned()


def held_keys(conn: sqlite3.Connection, bucket: str | None = None) -> list[tuple[str, bytes]]:
    """Keys held back by the upload filter (not by the tag), to look at again when the filter or a bucket changes."""
    sql = "SELECT bucket, key FROM ship_state WHERE note LIKE ?"
    args: list[Any] = [HELD_BY_FILTER + "%"]
    if bucket is not None:
        sql += " AND bucket=?"
        args.append(bucket)
    return [(b, k) for b, k in conn.execute(sql, args).fetchall()]


def held_summary(conn: sqlite3.Connection) -> dict[str, int]:
    """Objects (and their bytes) kept local by the upload filter, and by the s3d.upload=false tag (one scan)."""
    out = {f"held_by_{by}_{what}": 0 for by in ("filter", "tag") for what in ("objects", "bytes")}
    rows = conn.execute(
        "SELECT s.note LIKE ? AS by_filter, count(*), coalesce(sum(o.size), 0) FROM ship_state s JOIN objects o "
        "ON o.bucket=s.bucket AND o.key=s.key WHERE s.note LIKE ? GROUP BY by_filter",
        (HELD_BY_FILTER + "%", HELD + "%"),
    ).fetchall()
    for by_filter, n, size in rows:
        by = "filter" if by_filter else "tag"
        out[f"held_by_{by}_objects"], out[f"held_by_{by}_bytes"] = int(n), int(size)
    return out


def release_held(conn: sqlite3.Connection, f: Filter | None, bucket: str | None = None) -> int:
    """Journal a record for every object held by the upload filter that it now includes (after a restart with
    another filter, or when a bucket's tags changed), so the shipper ships it. Runs in the caller's transaction;
    returns how many were released."""
    from s3d.store.store import OBJECT_COLUMNS, _row_to_object, journal

    released = 0
    for b, k in held_keys(conn, bucket):
        row = conn.execute(f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket=? AND key=?", (b, k)).fetchone()
        if row is None or upload_hold(conn, f, _row_to_object(row)) is not None:
            continue
        journal(conn, RELEASE_OP, b, k)
        released += 1
    return released


async def bucket_retagged(store: Store, f: Filter | None, bucket: str) -> None:
    """After a bucket's tags change: release what the upload filter now includes, before the change is
    acknowledged (so a flush that follows waits for those objects too)."""
    if f is not None and f.uses_bucket_tags:
        await store.committer.run(lambda conn: release_held(conn, f, bucket))
