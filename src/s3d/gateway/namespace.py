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

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

from s3d import observe
from s3d.filters import gateway as filters
from s3d.gateway import evict
from s3d.gateway.cache import BlockCache, remote_unavailable
from s3d.gateway.config import GatewaySettings
from s3d.remote import RemoteError, RemoteObject
from s3d.remote.botocore_remote import BotocoreRemote
from s3d.s3.errors import S3Error
from s3d.store.store import OBJECT_COLUMNS, Bucket, Object, ObjectChanged, Store

LISTING_ONLY = "x-s3d-listing-only"  # a row made from a listing: its metadata is not fetched yet


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
        self.cache = BlockCache(self)
        self.evictions = 0

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
        return (
            self.reader.execute("SELECT 1 FROM journal WHERE bucket=? AND key=? LIMIT 1", (bucket, key)).fetchone()
            is not None
        )

    async def _remember(self, bucket: str, key: bytes, r: RemoteObject) -> Object:
        row = remote_only_row(bucket, key, r, listing_only=False)
        await self.committer.run(lambda conn: upsert_remote_only(conn, row))
        obj = self.get_object(bucket, key)
        if obj is None:  # deleted meanwhile
            raise S3Error("NoSuchKey")
        return obj

    async def find_with_bucket(self, bucket: str, key: bytes) -> tuple[Bucket | None, Object | None]:
        b, obj = await super().find_with_bucket(bucket, key)  # one query, hot rows remembered
        if b is None or (obj is not None and not (obj.is_remote and LISTING_ONLY in obj.meta)):
            return b, obj
        return b, await self.find_object(bucket, key)  # unknown here, or known only from a listing

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

    def bypasses_cache(self, obj: Object) -> bool:
        """The cache filter excludes this remote object (and no pin keeps it): served, never cached."""
        pinned = lambda: evict.pinned(self.reader, obj.bucket, obj.key)  # noqa: E731 - asked only when excluded
        return filters.cache_bypass(self.reader, self.gateway.cache_filter, obj, pinned)

    async def remote_body(self, obj: Object, start: int, end: int) -> tuple[AsyncIterator[bytes] | bytes, str]:
        if self.bypasses_cache(obj):
            return await self.cache.pass_through(obj, start, end), filters.CACHE_BYPASS
        return await self.cache.open(obj, start, end)

    async def reserve_write(self, size: int) -> int | None:
        """Room for a write of ``size`` bytes, evicting clean data if needed; 503 SlowDown if there is none."""
        reservation, ev = await self.committer.run(lambda c: evict.reserve(c, size, self.gateway.capacity))
        self.blobs.remove(ev.blobs)
        if ev.entries:
            self.note_evictions(ev.entries, ev.bytes)
        if reservation is None:
            raise S3Error(
                "SlowDown",
                "Local capacity is full of data not yet shipped to the remote (or pinned); retry when the queue drains.",
                headers=[("Retry-After", "1")],
            )
        return reservation

    async def release_write(self, reservation: int | None) -> None:
        if reservation is not None:
            await self.committer.run(lambda c: evict.release(c, reservation))

    def note_evictions(self, entries: int, nbytes: int) -> None:
        self.evictions += entries
        observe.get().event("cache_evict", level="warning", entries=entries, bytes=nbytes)

    async def tags_changed(self, bucket: str, key: bytes, tags: list[tuple[str, str]] | None) -> None:
        """Pinning (tag s3d.cache=pin) an object that is only on the remote fetches it."""
        if tags and tuple(evict.PIN_TAG) in [tuple(t) for t in tags]:
            obj = self.get_object(bucket, key)
            if obj is not None and obj.is_remote:
                t = asyncio.create_task(self._warm_quietly(obj))
                self.cache.background.add(t)
                t.add_done_callback(self.cache.background.discard)

    async def _warm_quietly(self, obj: Object) -> None:
        try:
            await self.warm_object(obj)
        except (S3Error, RemoteError, ObjectChanged, OSError) as e:
            observe.get().event(
                "pin_fetch_failed", "warning", bucket=obj.bucket, key=obj.key.decode(errors="replace"), error=str(e)
            )

    async def warm_object(self, obj: Object) -> bool:
        """Bring every block of a remote-only object here. False if the capacity ran out."""
        if obj.size == 0:
            return True
        stream, _ = await self.cache.open(obj, 0, obj.size - 1)
        if not isinstance(stream, bytes):  # bytes: it was all here already
            async for _chunk in stream:
                pass
        etag = self.cache.remote_etag(obj)
        total = (obj.size + self.gateway.block_size - 1) // self.gateway.block_size
        return len(self.cache.cached_blocks(obj, etag, 0, total - 1)) == total

    async def prefetch(self, bucket: str, prefix: bytes, concurrency: int = 4) -> dict[str, object]:
        """Warm the cache with every remote-only object under a prefix; stops at the capacity bound."""
        rows = self.reader.execute(
            "SELECT key FROM objects WHERE bucket=? AND key>=? AND data IS NULL AND blob IS NULL AND parts IS NULL ORDER BY key",
            (bucket, prefix),
        ).fetchall()
        keys = [k for (k,) in rows if k.startswith(prefix)]
        progress: dict[str, object] = {
            "objects": 0,
            "bytes": 0,
            "total_objects": len(keys),
            "done": False,
            "stopped_at_capacity": False,
        }
        sem = asyncio.Semaphore(concurrency)
        full = asyncio.Event()

        async def one(key: bytes) -> None:
            async with sem:
                if full.is_set():
                    return
                obj = await self.find_object(bucket, key)
                if obj is None or not obj.is_remote or self.bypasses_cache(obj):
                    return
                ok = await self.warm_object(obj)
                if not ok:
                    full.set()
                    return
                progress["objects"] = int(progress["objects"]) + 1  # type: ignore[call-overload]
                progress["bytes"] = int(progress["bytes"]) + obj.size  # type: ignore[call-overload]

        # what this prefetch brings in is never evicted to make room for the rest of it
        token = evict.PROTECT_FROM.set(evict.newest_entry(self.reader) + 1)
        try:
            await asyncio.gather(*(one(k) for k in keys))
        finally:
            evict.PROTECT_FROM.reset(token)
        progress["done"] = not full.is_set()
        progress["stopped_at_capacity"] = full.is_set()
        return progress

    def used(self) -> int:
        return evict.used(self.reader)

    async def pin(self, bucket: str, prefix: bytes) -> dict[str, object]:
        await self.committer.run(
            lambda c: c.execute("INSERT OR IGNORE INTO cache_pins (bucket, prefix) VALUES (?, ?)", (bucket, prefix))
        )
        return await self.prefetch(bucket, prefix)

    def cache_status(self) -> dict[str, object]:
        u = evict.usage(self.reader)
        return {
            "cache_bytes": u["clean"],
            "cache_capacity_bytes": self.gateway.capacity,
            "cache_used_bytes": u["clean"] + u["dirty"] + u["reserved"],
            "dirty_bytes": u["dirty"],
            "pinned_bytes": evict.pinned_bytes(self.reader),
            "cache_block_size": self.gateway.block_size,
        }
