"""Gateway decisions: what ships (upload_filter) and what the read cache keeps (cache_filter).

The tags ``s3d.upload=false`` / ``s3d.upload=true`` win over the upload filter; a pin (tag
``s3d.cache=pin`` or a pinned prefix) wins over the cache filter. An object the upload filter
holds stays local only: it never ships, is never evicted, and does not hold up a flush; a later
change that makes the filter include it ships it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import NamedTuple

from s3d.filters.evaluate import Filter
from s3d.filters.objects import subject_in
from s3d.store import journal, objects, ship_state
from s3d.store.objects import Object
from s3d.store.store import Store

UPLOAD_TAG = "s3d.upload"
HOLD_TAG = (UPLOAD_TAG, "false")
SHIP_TAG = (UPLOAD_TAG, "true")
HELD_BY_TAG_NOTE = f"held: {UPLOAD_TAG}=false"
HELD_BY_FILTER_NOTE = "held: upload_filter"
CACHE_BYPASS = "bypass"  # x-s3d-cache for a remote object served without being cached
# the journal op that asks the shipper to look at a held key again: as for a tag change, the shipper then
# ships the object (or only its tags, when this very version was shipped before it was held)
RELEASE_OP = journal.Op.TAGS


class Hold(NamedTuple):
    why: int  # ship_state.HELD_BY_TAG or HELD_BY_FILTER
    note: str  # shown in /_s3d/queue


def upload_hold(conn: sqlite3.Connection, f: Filter | None, obj: Object) -> Hold | None:
    """Why this object version stays local, or None if it ships."""
    tags = obj.tags or ()
    if HOLD_TAG in tags:
        return Hold(ship_state.HELD_BY_TAG, HELD_BY_TAG_NOTE)
    if SHIP_TAG in tags or f is None:
        return None
    d = f.decide(subject_in(conn, f, obj))
    if d.include:
        return None
    assert d.rule is not None  # the default includes: an exclusion is always a rule's
    return Hold(ship_state.HELD_BY_FILTER, f"{HELD_BY_FILTER_NOTE} line {d.rule.line}: {d.rule.text()}")


def cache_bypass(conn: sqlite3.Connection, f: Filter | None, obj: Object, pinned: Callable[[], bool]) -> bool:
    """True if a remote object is to be served without keeping its blocks (the cache filter excludes it, no pin)."""
    if f is None:
        return False
    return not f.decide(subject_in(conn, f, obj)).include and not pinned()


def release_held(conn: sqlite3.Connection, f: Filter | None, bucket: str | None = None) -> int:
    """Journal a record for every object held by the upload filter that it now includes (after a restart with
    another filter, or when a bucket's tags changed), so the shipper ships it. Runs in the caller's transaction;
    returns how many were released."""
    released = 0
    for b, k in ship_state.held_keys(conn, ship_state.HELD_BY_FILTER, bucket):
        obj = objects.get(conn, b, k)
        if obj is None or upload_hold(conn, f, obj) is not None:
            continue
        journal.append(conn, RELEASE_OP, b, k)
        released += 1
    return released


async def bucket_retagged(store: Store, f: Filter | None, bucket: str) -> None:
    """After a bucket's tags change: release what the upload filter now includes, before the change is
    acknowledged (so a flush that follows waits for those objects too)."""
    if f is not None and f.uses_bucket_tags:
        await store.committer.run(lambda conn: release_held(conn, f, bucket))
