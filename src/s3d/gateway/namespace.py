"""The namespace as gateway workers see it: local state first, the remote behind it.

``GatewayNamespace`` holds a ``Store``, a ``Remote`` and a ``BlockCache`` (each passed in):

- reads of a key with no local bytes go to the remote (read-through, ranges passed on), unless a
  local delete or overwrite of it is not yet shipped: unshipped local state always wins;
- objects found on the remote get a remote-only row (no bytes), so listings, HEAD and tagging see
  them; those rows never enter the journal;
- writes are refused with SlowDown while unshipped data fills the configured capacity;
- deletes are journaled even for keys not held here, so they reach the remote.
"""

from __future__ import annotations

import asyncio
import time

from s3d import observe
from s3d.filters import gateway as filters
from s3d.filters.evaluate import Filter
from s3d.gateway.cache import BlockCache
from s3d.gateway.remote_rows import forget, moved_on, remember
from s3d.remote import Remote, RemoteError
from s3d.store import buckets, cache_index, journal, objects, ship_state
from s3d.store.buckets import Bucket
from s3d.store.errors import ObjectChanged, RemoteUnavailable, StoreError
from s3d.store.objects import Object
from s3d.store.ranges import Body
from s3d.store.store import DeletePrecondition, Store, close_spans
from s3d.store.versions import Removal
from s3d.store.writer import ObjectWriter

HIT = "hit"  # how a read of local bytes was served (x-s3d-cache)
MISS = "miss"
PREFETCH_CONCURRENCY = 4
DEFAULT_OWNER = "admin"
KNOWN_BUCKETS_FOR = 1.0  # seconds a per-worker memo of existing buckets is trusted
DEFAULT_REGION = "us-east-1"


class GatewayNamespace:
    def __init__(
        self,
        store: Store,
        remote: Remote,
        cache: BlockCache,
        cache_filter: Filter | None = None,
        owner: str = DEFAULT_OWNER,
        region: str = DEFAULT_REGION,
    ) -> None:
        self.store = store
        self.remote = remote
        self.cache = cache
        self.cache_filter = cache_filter
        self.owner = owner  # who owns buckets found on the remote (as the refresh makes them)
        self.region = region
        self._known: set[str] = set()  # buckets seen to exist here lately: no lookup per request
        self._known_at = 0.0

    # ---------- reads ----------
    async def find_with_bucket(self, bucket: str, key: bytes) -> tuple[Bucket | None, Object | None]:
        b, obj = self.store.find_with_bucket(bucket, key)  # one query, hot rows remembered
        if b is None:
            return b, obj
        if obj is not None and not obj.listing_only:
            return b, await self._fresh(obj)
        return b, await self.find_object(bucket, key)  # unknown here, or known only from a listing

    async def _fresh(self, obj: Object) -> Object | None:
        """A shipped local object is revalidated like a cached one (every ``revalidate_after`` seconds): if
        another daemon replaced or deleted the key on the remote since, the local copy gives way to it."""
        if obj.is_remote:
            return obj  # the block cache revalidates remote-only objects itself
        if not self.cache.due(obj, obj.etag):
            return obj
        shipped = ship_state.get(self.store.reader, obj.bucket, obj.key)
        if (
            shipped is None
            or shipped.held
            or shipped.version != obj.version
            or shipped.remote_etag in (None, ship_state.DISCARDED)
            or journal.has_pending(self.store.reader, obj.bucket, obj.key)
        ):
            self.cache.checked_here(obj, obj.etag)  # look again after revalidate_after, not on every read
            return obj  # not (yet) on the remote as this version: the local state is the truth
        try:
            r = await self.remote.head_object(obj.bucket, obj.key.decode())
        except RemoteError:
            return obj  # the remote cannot say now: serve the local copy
        if r is not None and r.etag == shipped.remote_etag:
            await self.cache.validated_now(obj, obj.etag)
            return obj
        return await moved_on(self.store, obj, r)

    async def find_object(self, bucket: str, key: bytes) -> Object | None:
        obj = self.store.get_object(bucket, key)
        if obj is not None:
            if obj.listing_only:
                try:
                    r = await self.remote.head_object(bucket, key.decode())
                except RemoteError:
                    return obj  # serve what is known
                if r is None:
                    await forget(self.store, bucket, key)
                    return None
                return await remember(self.store, bucket, key, r)
            return await self._fresh(obj)
        if journal.has_pending(self.store.reader, bucket, key):
            return None  # deleted here, and the delete is not on the remote yet
        try:
            r = await self.remote.head_object(bucket, key.decode())
        except RemoteError as e:
            raise RemoteUnavailable(e.code) from e
        if r is None:
            return None
        return await remember(self.store, bucket, key, r)

    async def discover_bucket(self, bucket: str) -> None:
        """A bucket made on the remote by someone else is served at once, not after the next refresh."""
        now = time.monotonic()
        if now - self._known_at > KNOWN_BUCKETS_FOR:
            self._known.clear()
            self._known_at = now
        if bucket in self._known:
            return
        if self.store.get_bucket(bucket) is not None:
            self._known.add(bucket)
            return
        if journal.has_pending(self.store.reader, bucket):
            return  # deleted here, and the delete is not on the remote yet
        try:
            found = await self.remote.bucket_exists(bucket)
        except RemoteError:
            return  # the remote cannot say now: the bucket stays unknown
        if found:
            await self.store.committer.run(lambda c: buckets.insert(c, bucket, self.owner, self.region))

    async def open_range(self, obj: Object, start: int, end: int) -> tuple[Body, str | None]:
        if obj.is_remote:
            if self.bypasses_cache(obj):
                return await self.cache.pass_through(obj, start, end), filters.CACHE_BYPASS
            return await self.cache.open(obj, start, end)
        return self.store.open_range(obj, start, end), HIT

    def bypasses_cache(self, obj: Object) -> bool:
        """The cache filter excludes this remote object (and no pin keeps it): served, never cached."""

        def pinned() -> bool:  # asked only when the filter excludes it
            return cache_index.pinned(self.store.reader, obj.bucket, obj.key)

        return filters.cache_bypass(self.store.reader, self.cache_filter, obj, pinned)

    def served_from(self, obj: Object) -> str | None:
        return MISS if obj.is_remote else HIT

    async def read_into(self, obj: Object, start: int, end: int, writer: ObjectWriter) -> None:
        if end < start:
            return
        if not obj.is_remote:
            pieces = self.store.open_range(obj, start, end)
            try:
                await writer.copy(pieces)
            finally:
                close_spans(pieces)
            return
        stream, _ = await self.cache.open(obj, start, end)
        if isinstance(stream, bytes):
            writer.write(stream)
            return
        if isinstance(stream, list):  # every byte is cached: copied from the blocks
            try:
                await writer.copy(stream)
            finally:
                close_spans(stream)
            return
        async for chunk in stream:
            writer.write(chunk)

    # ---------- writes ----------
    async def delete_object(
        self,
        bucket: str,
        key: bytes,
        precondition: DeletePrecondition | None = None,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> Removal:
        return await self.store.delete_object(
            bucket, key, journal_if_absent=True, precondition=precondition, version_id=version_id,
            bypass_governance=bypass_governance,
        )  # fmt: skip

    async def reserve_write(self, size: int) -> int | None:
        return await self.cache.capacity.reserve_or_slow_down(size)

    async def release_write(self, reservation: int | None) -> None:
        if reservation is not None:
            await self.cache.capacity.release(reservation)

    async def tags_changed(self, bucket: str, key: bytes, tags: list[tuple[str, str]] | None) -> None:
        """Pinning (tag s3d.cache=pin) an object that is only on the remote fetches it."""
        if cache_index.has_pin_tag(tags):
            obj = self.store.get_object(bucket, key)
            if obj is not None and obj.is_remote:
                self.cache.spawn(self._warm_quietly(obj))

    # ---------- warming (prefetch, pin) ----------
    async def _warm_quietly(self, obj: Object) -> None:
        try:
            await self.warm_object(obj)
        except (StoreError, RemoteError, OSError) as e:
            observe.get().event(
                "pin_fetch_failed", "warning", bucket=obj.bucket, key=obj.key.decode(errors="replace"), error=str(e)
            )

    async def warm_object(self, obj: Object) -> bool:
        """Bring every block of a remote-only object here. False if the capacity ran out."""
        if obj.size == 0:
            return True
        stream, _ = await self.cache.open(obj, 0, obj.size - 1)
        if isinstance(stream, list):  # it was all here already
            close_spans(stream)
        elif not isinstance(stream, bytes):
            async for _chunk in stream:
                pass
        etag = self.cache.remote_etag(obj)
        total = (obj.size + self.cache.block_size - 1) // self.cache.block_size
        return len(self.cache.cached_blocks(obj, etag, 0, total - 1)) == total

    async def prefetch(self, bucket: str, prefix: bytes, concurrency: int = PREFETCH_CONCURRENCY) -> dict[str, object]:
        """Warm the cache with every remote-only object under a prefix; stops at the capacity bound."""
        keys = objects.remote_only_keys(self.store.reader, bucket, prefix)
        done = {"objects": 0, "bytes": 0}
        sem = asyncio.Semaphore(concurrency)
        full = asyncio.Event()

        async def one(key: bytes) -> None:
            async with sem:
                if full.is_set():
                    return
                try:
                    obj = await self.find_object(bucket, key)
                    if obj is None or not obj.is_remote or self.bypasses_cache(obj):
                        return
                    ok = await self.warm_object(obj)
                except ObjectChanged:
                    return  # replaced on the remote meanwhile: the next prefetch takes the new one
                if not ok:
                    full.set()
                    return
                done["objects"] += 1
                done["bytes"] += obj.size

        # what this prefetch brings in is never evicted to make room for the rest of it
        token = cache_index.PROTECT_FROM.set(cache_index.newest_entry(self.store.reader) + 1)
        try:
            await asyncio.gather(*(one(k) for k in keys))
        finally:
            cache_index.PROTECT_FROM.reset(token)
        return {
            **done,
            "total_objects": len(keys),
            "done": not full.is_set(),
            "stopped_at_capacity": full.is_set(),
        }

    async def pin(self, bucket: str, prefix: bytes) -> dict[str, object]:
        await self.store.committer.run(lambda c: cache_index.pin_prefix(c, bucket, prefix))
        return await self.prefetch(bucket, prefix)

    def cache_status(self) -> dict[str, int]:
        u = cache_index.usage(self.store.reader)
        return {
            "cache_bytes": u["clean"],
            "cache_capacity_bytes": self.cache.capacity.capacity,
            "cache_used_bytes": u["clean"] + u["dirty"] + u["reserved"],
            "dirty_bytes": u["dirty"],
            "pinned_bytes": cache_index.pinned_bytes(self.store.reader),
            "cache_block_size": self.cache.block_size,
            "cache_hits": self.cache.hits,
            "cache_misses": self.cache.misses,
            "cache_evictions": self.cache.capacity.evictions,
        }
