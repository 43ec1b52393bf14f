"""The store as gateway workers see it: local state first, the remote behind it.

``GatewayStore`` layers over ``Store`` (chosen by configuration, as fsspec
layers caches; the handlers do not know which they have):

- reads of a key with no local bytes go to the remote (read-through, ranges
  passed on), unless a local delete or overwrite of it is not yet shipped:
  unshipped local state always wins;
- objects found on the remote get a "remote-only" row (no bytes), so listings,
  HEAD and tagging see them; those rows never enter the journal;
- writes are refused with 503 SlowDown while unshipped data fills the
  configured capacity.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

from s3d.gateway import state
from s3d.gateway.config import GatewaySettings
from s3d.remote import RemoteError, RemoteNotFound, RemoteObject
from s3d.remote.botocore_remote import BotocoreRemote
from s3d.s3.errors import S3Error
from s3d.store.store import OBJECT_COLUMNS, Object, ObjectChanged, Store

LISTING_ONLY = "x-s3d-listing-only"  # a row made from a listing: its metadata is not fetched yet
DIRTY_TTL = 0.25


def remote_unavailable(e: RemoteError) -> S3Error:
    return S3Error(
        "ServiceUnavailable",
        f"The object is not held locally and the remote S3 cannot serve it now ({e.code}). Retry later.",
        status=503,
    )


def remote_only_row(bucket: str, key: bytes, r: RemoteObject, listing_only: bool) -> tuple[object, ...]:
    meta = dict(r.meta)
    if listing_only:
        meta[LISTING_ONLY] = "1"
    return (bucket, key, r.size, r.etag, r.mtime or time.time(), 0, json.dumps(meta), None, None, None, None, None)


def upsert_remote_only(conn: sqlite3.Connection, row: tuple[object, ...]) -> None:
    """Insert or refresh a remote-only row; never touches a row that holds local bytes."""
    conn.execute(
        f"INSERT INTO objects ({OBJECT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (bucket, key) DO UPDATE SET size=excluded.size, etag=excluded.etag, mtime=excluded.mtime, "
        "meta=excluded.meta WHERE objects.data IS NULL AND objects.blob IS NULL AND objects.parts IS NULL",
        row,
    )


class GatewayStore(Store):
    def __init__(self, root: Path, inline_max: int, gateway: GatewaySettings) -> None:
        super().__init__(root, inline_max)
        self.journal_unknown_deletes = True
        self.gateway = gateway
        self._remote: BotocoreRemote | None = None
        self._dirty = (0.0, 0)

    @property
    def remote(self) -> BotocoreRemote:
        # made on first use, in the worker process (never inherited across fork)
        if self._remote is None:
            self._remote = BotocoreRemote(self.gateway.remote)
        return self._remote

    def close(self) -> None:
        if self._remote is not None:
            self._remote.close()
        super().close()

    def pending_locally(self, bucket: str, key: bytes) -> bool:
        """Unshipped local records for this key: local state is the truth for it."""
        return self.reader.execute("SELECT 1 FROM journal WHERE bucket=? AND key=? LIMIT 1", (bucket, key)).fetchone() is not None

    async def _remember(self, bucket: str, key: bytes, r: RemoteObject) -> Object:
        row = remote_only_row(bucket, key, r, listing_only=False)
        await self.committer.run(lambda conn: upsert_remote_only(conn, row))
        obj = self.get_object(bucket, key)
        if obj is None:  # deleted meanwhile
            raise S3Error("NoSuchKey")
        return obj

    async def find_object(self, bucket: str, key: bytes) -> Object | None:
        obj = self.get_object(bucket, key)
        if obj is not None:
            if obj.is_remote and LISTING_ONLY in obj.meta:
                try:
                    r = await self.remote.head_object(bucket, key.decode())
                except RemoteError:
                    return obj  # serve what is known
                if r is None:
                    await self.forget(bucket, key)
                    return None
                return await self._remember(bucket, key, r)
            return obj
        if self.pending_locally(bucket, key):
            return None  # deleted here, and the delete is not on the remote yet
        try:
            r = await self.remote.head_object(bucket, key.decode())
        except RemoteError as e:
            raise remote_unavailable(e) from e
        if r is None:
            return None
        return await self._remember(bucket, key, r)

    async def forget(self, bucket: str, key: bytes) -> None:
        """Drop a remote-only row whose object is gone from the remote."""
        await self.committer.run(
            lambda conn: conn.execute(
                "DELETE FROM objects WHERE bucket=? AND key=? AND data IS NULL AND blob IS NULL AND parts IS NULL",
                (bucket, key),
            )
        )

    async def remote_body(self, obj: Object, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            r, chunks = await self.remote.get_object(obj.bucket, obj.key.decode(), start, end)
        except RemoteNotFound:
            await self.forget(obj.bucket, obj.key)
            raise S3Error("NoSuchKey", extra={"Key": obj.key.decode(errors="replace")}) from None
        except RemoteError as e:
            raise remote_unavailable(e) from e
        if r.etag != obj.etag or r.size != obj.size:
            await chunks.aclose()  # type: ignore[attr-defined]
            await self._remember(obj.bucket, obj.key, r)
            raise ObjectChanged()
        return chunks

    def dirty_bytes(self) -> int:
        at, value = self._dirty
        now = time.monotonic()
        if now - at > DIRTY_TTL:
            value = int(state.get(self.reader, "dirty_bytes", 0) or 0)
            self._dirty = (now, value)
        return value

    def admit_write(self, size: int) -> None:
        if self.dirty_bytes() + size > self.gateway.capacity:
            raise S3Error(
                "SlowDown",
                "Local capacity for data not yet shipped to the remote is full; retry when the queue drains.",
                headers=[("Retry-After", "1")],
            )
