"""Remote-only rows: what the remote told us about a key we hold no bytes of (none of it is journaled)."""

from __future__ import annotations

import time

from s3d.remote import RemoteObject
from s3d.store import objects
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
