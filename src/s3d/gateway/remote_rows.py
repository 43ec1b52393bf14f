"""Remote-only rows: what the remote told us about a key we hold no bytes of (none of it is journaled)."""

from __future__ import annotations

import sqlite3
import time

from s3d.remote import RemoteObject
from s3d.store import cache_index, journal, objects, ship_state
from s3d.store.errors import NoSuchKey
from s3d.store.objects import Object
from s3d.store.store import Store


async def remember(store: Store, bucket: str, key: bytes, r: RemoteObject) -> Object:
    """Record (or refresh) a remote-only row from a HEAD or GET answer; the row as it now stands."""
    await store.committer.run(
        lambda conn: objects.put_remote_only(conn, bucket, key, r.size, r.etag, r.mtime or time.time(), r.meta, False)
    )
    obj = store.get_object(bucket, key)
    if obj is None:  # deleted meanwhile
        raise NoSuchKey(bucket=bucket, key=key)
    return obj


async def forget(store: Store, bucket: str, key: bytes) -> None:
    """Drop a remote-only row whose object is gone from the remote."""
    await store.committer.run(lambda conn: objects.forget_remote_only(conn, bucket, key))


async def moved_on(store: Store, obj: Object, r: RemoteObject | None) -> Object | None:
    """Another writer replaced (``r``) or deleted (None) a shipped object on the remote: the local copy gives
    way, unless the key has unshipped local changes (those win). The object a read should now see."""

    def op(conn: sqlite3.Connection) -> list[str] | None:
        if journal.has_pending(conn, obj.bucket, obj.key):
            return None
        if r is None:
            gone = objects.drop_replaced(conn, obj.bucket, obj.key, obj.etag)
        else:
            mtime = r.mtime or time.time()
            gone = objects.adopt_remote(conn, obj.bucket, obj.key, obj.etag, r.size, r.etag, mtime, r.meta)
        if gone is not None:
            ship_state.forget(conn, obj.bucket, obj.key)
            cache_index.forget_own_bytes(conn, obj.bucket, obj.key)
        return gone

    gone = await store.committer.run(op)
    if gone is None:
        return store.get_object(obj.bucket, obj.key)
    store.blobs.remove(gone)
    return None if r is None else store.get_object(obj.bucket, obj.key)
