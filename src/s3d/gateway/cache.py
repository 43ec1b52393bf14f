"""The block cache: remote objects read in fixed-size blocks, kept on local disk.

A ranged read fetches only the blocks it touches (plus the next one when reads are sequential) and
streams the first bytes to the client while the block is still arriving. Blocks are keyed by the
remote ETag, so a changed remote object is never served mixed with its older blocks; objects are
revalidated with the remote after ``revalidate_after`` seconds. Concurrent reads of one missing
block make one remote request: an asyncio lock within a worker and an flock on a lock file across
workers. While the remote is unreachable, fully cached objects are still served
(``x-s3d-cache: stale``). The index of blocks and the capacity bound are in store/cache_index.py.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator

from s3d import observe
from s3d.gateway.config import GatewaySettings
from s3d.gateway.remote_rows import forget, remember
from s3d.observe import events
from s3d.remote import Remote, RemoteError, RemoteNotFound
from s3d.store import cache_index, ship_state
from s3d.store.cache_index import Block
from s3d.store.errors import NoSuchKey, ObjectChanged, RemoteUnavailable, SlowDown, StorageIOError
from s3d.store.objects import Object
from s3d.store.ranges import OpenSpan
from s3d.store.store import Store, close_spans

READ_CHUNK = 1 << 20
READ_AHEAD_BLOCKS = 1
SMALL_READ = 256 * 1024  # fully cached ranges up to this size are read at once and sent in one write
MEMO_ENTRIES = 4096
COMPLETE_FOR = 1.0  # seconds a worker trusts its memo that a range is fully cached (a block found gone drops it)
MEMO_BYTES = 8 << 20  # at most this many bytes of small fully cached ranges kept in that memo, per worker


class Capacity:
    """The one capacity bound over dirty and clean local bytes (store/cache_index.py), per worker."""

    def __init__(self, store: Store, capacity: int) -> None:
        self.store = store
        self.capacity = capacity
        self.evictions = 0

    async def reserve(self, size: int, protect_from: int | None = None) -> int | None:
        """A reservation id, evicting clean data if needed; None if dirty and pinned data leave no room."""
        reservation, ev = await self.store.committer.run(
            lambda c: cache_index.reserve(c, size, self.capacity, protect_from)
        )
        self.store.blobs.remove(ev.blobs)
        if ev.entries:
            self.evictions += ev.entries
            observe.get().event("cache_evict", level="warning", entries=ev.entries, bytes=ev.bytes)
        return reservation

    async def reserve_or_slow_down(self, size: int) -> int:
        reservation = await self.reserve(size)
        if reservation is None:
            raise SlowDown(
                "Local capacity is full of data not yet shipped to the remote (or pinned); retry when the queue drains."
            )
        return reservation

    async def release(self, reservation: int) -> None:
        await self.store.committer.run(lambda c: cache_index.release(c, reservation))


class BlockCache:
    def __init__(self, store: Store, remote: Remote, settings: GatewaySettings, capacity: Capacity) -> None:
        self.store = store
        self.remote = remote
        self.block_size = settings.block_size
        self.revalidate_after = settings.revalidate_after
        self.capacity = capacity
        self.lockdir = store.root / "cache-locks"
        self.lockdir.mkdir(exist_ok=True)
        self.locks: dict[tuple[str, bytes, str, int], asyncio.Lock] = {}
        self.last_end: dict[tuple[str, bytes], int] = {}
        self.background: set[asyncio.Task[None]] = set()
        self.hits = 0
        self.misses = 0
        # per-worker memos of rarely changing facts: (bucket, key, etag) -> remote ETag / last check
        self.remote_etags: dict[tuple[str, bytes, str], str] = {}
        self.validated: dict[tuple[str, bytes, str], float] = {}
        # fully cached ranges read lately: (bucket, key, etag, first block, last block) -> (blocks, until), and
        # the bytes of small ones: (bucket, key, etag, start, end) -> bytes (an ETag's bytes never change)
        self.complete: dict[tuple[str, bytes, str, int, int], tuple[dict[int, Block], float]] = {}
        self.small: dict[tuple[str, bytes, str, int, int], bytes] = {}
        self.small_bytes = 0

    def spawn(self, coro: asyncio.Future[None] | asyncio.Task[None] | object) -> None:
        """Run background work (read-ahead, visits) without losing track of it."""
        t: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self.background.add(t)
        t.add_done_callback(self.background.discard)

    # ---------- lookups ----------
    def remote_etag(self, obj: Object) -> str:
        """The ETag the remote holds for this object (it can differ from ours: rclone's multipart)."""
        if obj.from_remote:
            return obj.etag  # its row carries the remote's own ETag
        k = (obj.bucket, obj.key, obj.etag)
        got = self.remote_etags.get(k)
        if got is None:
            got = ship_state.remote_etag(self.store.reader, obj.bucket, obj.key) or obj.etag
            if len(self.remote_etags) > MEMO_ENTRIES:
                self.remote_etags.clear()
            self.remote_etags[k] = got
        return got

    def cached_blocks(self, obj: Object, etag: str, first: int, last: int) -> dict[int, Block]:
        return cache_index.blocks(self.store.reader, obj.bucket, obj.key, etag, first, last)

    def _validated_at(self, obj: Object, etag: str) -> float:
        k = (obj.bucket, obj.key, etag)
        at = self.validated.get(k)
        if at is None:
            at = cache_index.validated_at(self.store.reader, obj.bucket, obj.key, etag)
            if len(self.validated) > MEMO_ENTRIES:
                self.validated.clear()
            self.validated[k] = at
        return at

    def due(self, obj: Object, etag: str) -> bool:
        """Time to check this object (version) with the remote again."""
        return time.time() - self._validated_at(obj, etag) >= self.revalidate_after

    def checked_here(self, obj: Object, etag: str) -> None:
        """Nothing to ask the remote about this version now: this worker looks again when it is due."""
        self.validated[(obj.bucket, obj.key, etag)] = time.time()

    async def validated_now(self, obj: Object, etag: str) -> None:
        await self._mark_validated(obj, etag)

    async def _mark_validated(self, obj: Object, etag: str) -> None:
        now = time.time()
        self.validated[(obj.bucket, obj.key, etag)] = now
        await self.store.committer.run(lambda c: cache_index.mark_validated(c, obj.bucket, obj.key, etag, now))

    # ---------- reading ----------
    async def open(
        self, obj: Object, start: int, end: int
    ) -> tuple[AsyncIterator[bytes] | bytes | list[OpenSpan | bytes], str]:
        """A stream of bytes [start, end] of a remote-only object, and how it was served (hit/miss/partial/stale)."""
        etag = self.remote_etag(obj)
        first, last = start // self.block_size, end // self.block_size
        memo = (obj.bucket, obj.key, etag, first, last)
        cached = self._complete_blocks(memo)
        if cached is None:
            cached = self.cached_blocks(obj, etag, first, last)
        complete = len(cached) == last - first + 1
        stale = False
        if time.time() - self._validated_at(obj, etag) >= self.revalidate_after or not complete:
            try:
                r = await self.remote.head_object(obj.bucket, obj.key.decode())
            except RemoteError as e:
                if not complete:
                    raise RemoteUnavailable(e.code) from e
                stale = True  # stale-if-error: every byte asked for is here
            else:
                if r is None:
                    await forget(self.store, obj.bucket, obj.key)
                    raise NoSuchKey(bucket=obj.bucket, key=obj.key)
                if r.etag != etag or r.size != obj.size:
                    await remember(self.store, obj.bucket, obj.key, r)
                    raise ObjectChanged()
                await self._mark_validated(obj, etag)
        status = "stale" if stale else "hit" if complete else "miss" if not cached else "partial"
        if complete:
            self.hits += 1
        else:
            self.misses += 1
        observe.get().event(
            events.CACHE_HIT if complete else events.CACHE_MISS, "debug",
            bucket=obj.bucket, key=obj.key.decode(errors="replace"), bytes=end - start + 1,
        )  # fmt: skip
        self._read_ahead(obj, etag, start, end)
        if complete:
            # served as a local object is: a small range in one write, a larger one by sendfile from the blocks
            body: bytes | list[OpenSpan | bytes] | None = None
            if end - start + 1 <= SMALL_READ:
                span = (obj.bucket, obj.key, etag, start, end)
                body = self.small.get(span) if memo in self.complete else None
                if body is None:
                    body = self._read_cached(start, end, cached)
                    if body is not None:
                        self._remember_small(span, body)
            if body is None:
                body = self._open_cached(start, end, cached)
            if body is not None:
                self._remember_complete(memo, cached)
                return body, status
            self.complete.pop(memo, None)  # a block was evicted meanwhile
        return self._stream(obj, etag, start, end, cached), status

    def _complete_blocks(self, memo: tuple[str, bytes, str, int, int]) -> dict[int, Block] | None:
        """The blocks of a range this worker found fully cached less than ``COMPLETE_FOR`` ago: no query.
        (A block's visited mark, set by this worker, may be cleared by the eviction hand meanwhile: it is set
        again once the memo expires, well before the hand comes round again.)"""
        got = self.complete.get(memo)
        if got is None:
            return None
        if got[1] < time.monotonic():
            del self.complete[memo]
            return None
        return got[0]

    def _remember_small(self, span: tuple[str, bytes, str, int, int], data: bytes) -> None:
        self.small_bytes -= len(self.small.pop(span, b""))
        if self.small_bytes + len(data) > MEMO_BYTES:
            self.small.clear()
            self.small_bytes = 0
        self.small[span] = data
        self.small_bytes += len(data)

    def _remember_complete(self, memo: tuple[str, bytes, str, int, int], cached: dict[int, Block]) -> None:
        if memo in self.complete:
            return
        if len(self.complete) > MEMO_ENTRIES:
            self.complete.clear()
        self.complete[memo] = (cached, time.monotonic() + COMPLETE_FOR)

    async def pass_through(self, obj: Object, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end] of a remote-only object straight from the remote, kept nowhere (cache_filter)."""
        try:
            r, chunks = await self.remote.get_object(obj.bucket, obj.key.decode(), start, end)
        except RemoteNotFound:
            await forget(self.store, obj.bucket, obj.key)
            raise NoSuchKey(bucket=obj.bucket, key=obj.key) from None
        except RemoteError as e:
            raise RemoteUnavailable(e.code) from e
        if r.etag != self.remote_etag(obj):
            await chunks.aclose()  # type: ignore[attr-defined]
            await remember(self.store, obj.bucket, obj.key, r)
            raise ObjectChanged()
        return chunks

    def _read_cached(self, start: int, end: int, cached: dict[int, Block]) -> bytes | None:
        """A small fully cached range, read now; None if a block was evicted meanwhile."""
        bs = self.block_size
        out = []
        touched = []
        for b in range(start // bs, end // bs + 1):
            block = cached[b]
            assert block.blob is not None
            lo = max(start, b * bs) - b * bs
            hi = min(end, (b + 1) * bs - 1) - b * bs
            try:
                fd = self.store.blobs.open_read(block.blob)
            except FileNotFoundError:
                return None
            try:
                out.append(os.pread(fd, hi - lo + 1, lo))
            finally:
                os.close(fd)
            if not block.visited:
                touched.append(block.id)
                block.visited = True  # the visit below marks it
        if touched:
            self.spawn(self._visit(touched))
        return b"".join(out)

    def _open_cached(self, start: int, end: int, cached: dict[int, Block]) -> list[OpenSpan | bytes] | None:
        """A fully cached range as open spans of its blocks (the server sends them with sendfile); None if a
        block was evicted meanwhile."""
        bs = self.block_size
        out: list[OpenSpan | bytes] = []
        touched = []
        try:
            for b in range(start // bs, end // bs + 1):
                block = cached[b]
                assert block.blob is not None
                lo = max(start, b * bs) - b * bs
                hi = min(end, (b + 1) * bs - 1) - b * bs
                out.append(OpenSpan(self.store.blobs.open_read(block.blob), lo, hi - lo + 1))
                if not block.visited:
                    touched.append(block.id)
                    block.visited = True  # the visit below marks it
        except FileNotFoundError:
            close_spans(out)
            return None
        if touched:
            self.spawn(self._visit(touched))
        return out

    async def _visit(self, ids: list[int]) -> None:
        await self.store.committer.run(lambda c: cache_index.visit(c, ids))

    def _read_ahead(self, obj: Object, etag: str, start: int, end: int) -> None:
        """A read that starts where this key's previous read ended is sequential: warm the next block."""
        k = (obj.bucket, obj.key)
        sequential = self.last_end.get(k) == start - 1
        self.last_end[k] = end
        if not sequential:
            return
        total = (obj.size + self.block_size - 1) // self.block_size
        last = end // self.block_size
        for b in range(last + 1, min(total, last + 1 + READ_AHEAD_BLOCKS)):
            if not self.cached_blocks(obj, etag, b, b):
                self.spawn(self._warm(obj, etag, b))

    async def _warm(self, obj: Object, etag: str, block: int) -> None:
        try:
            async for _ in self._fetch(obj, etag, block, 0, self.block_size - 1):
                pass
        except (RemoteError, NoSuchKey, RemoteUnavailable, ObjectChanged, StorageIOError, OSError):
            pass  # read-ahead is a bonus: a failure is the next read's business

    async def _stream(
        self, obj: Object, etag: str, start: int, end: int, cached: dict[int, Block]
    ) -> AsyncIterator[bytes]:
        bs = self.block_size
        touched: list[int] = []
        try:
            for b in range(start // bs, end // bs + 1):
                lo = max(start, b * bs) - b * bs
                hi = min(end, (b + 1) * bs - 1) - b * bs
                hit = cached.get(b)
                if hit is not None and hit.blob is not None:
                    try:
                        fd = self.store.blobs.open_read(hit.blob)
                    except FileNotFoundError:
                        hit = None  # evicted since the lookup
                    else:
                        try:
                            off = lo
                            while off <= hi:
                                data = os.pread(fd, min(READ_CHUNK, hi - off + 1), off)
                                if not data:
                                    raise StorageIOError("cached block is shorter than recorded")
                                yield data
                                off += len(data)
                        finally:
                            os.close(fd)
                        if not hit.visited:
                            touched.append(hit.id)
                        continue
                async for data in self._fetch(obj, etag, b, lo, hi):
                    yield data
        finally:
            if touched:
                await self._visit(touched)

    def _lockfile(self, key: tuple[str, bytes, str, int]) -> str:
        h = hashlib.sha1(repr(key).encode()).hexdigest()
        return str(self.lockdir / h[:16])

    async def _fetch(self, obj: Object, etag: str, block: int, lo: int, hi: int) -> AsyncIterator[bytes]:
        """Bytes [lo, hi] of one block: from the cache if another reader just fetched it, else from the remote."""
        key = (obj.bucket, obj.key, etag, block)
        lock = self.locks.setdefault(key, asyncio.Lock())
        loop = asyncio.get_running_loop()
        async with lock:
            fd = os.open(self._lockfile(key), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                await loop.run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
                got = self.cached_blocks(obj, etag, block, block).get(block)
                if got is not None and got.blob is not None:
                    bfd = self.store.blobs.open_read(got.blob)
                    try:
                        yield os.pread(bfd, hi - lo + 1, lo)
                    finally:
                        os.close(bfd)
                    return
                async for data in self._download(obj, etag, block, lo, hi):
                    yield data
            finally:
                os.close(fd)  # releases the flock
                if not lock.locked():
                    self.locks.pop(key, None)

    async def _download(self, obj: Object, etag: str, block: int, lo: int, hi: int) -> AsyncIterator[bytes]:
        bs = self.block_size
        b_start = block * bs
        b_end = min(obj.size, b_start + bs) - 1
        size = b_end - b_start + 1
        reservation = await self.capacity.reserve(size, cache_index.PROTECT_FROM.get())
        try:
            try:
                r, chunks = await self.remote.get_object(obj.bucket, obj.key.decode(), b_start, b_end)
            except RemoteNotFound:
                await forget(self.store, obj.bucket, obj.key)
                raise NoSuchKey(bucket=obj.bucket, key=obj.key) from None
            except RemoteError as e:
                raise RemoteUnavailable(e.code) from e
            if r.etag != etag:
                await chunks.aclose()  # type: ignore[attr-defined]
                await remember(self.store, obj.bucket, obj.key, r)
                raise ObjectChanged()
            # a block is never inline: it is a blob of its own, indexed once complete
            writer = self.store.part_writer() if reservation is not None else None
            pos = 0
            try:
                async for chunk in chunks:
                    if writer is not None:
                        writer.write(chunk)
                    c_lo, c_hi = pos, pos + len(chunk) - 1
                    if c_hi >= lo and c_lo <= hi:
                        yield chunk[max(lo, c_lo) - pos : min(hi, c_hi) - pos + 1]
                    pos += len(chunk)
                if pos != size:
                    raise RemoteUnavailable("the remote sent a block of the wrong size")
                if writer is None:
                    return  # no room to keep it (dirty and pinned data fill the capacity): streamed through
                assert reservation is not None  # a writer exists only with a reservation
                rid = reservation

                def record(c: sqlite3.Connection, blob: str) -> None:
                    cache_index.add_block(c, obj.bucket, obj.key, etag, block, size, blob)
                    cache_index.release(c, rid)

                await writer.commit_blob(record)
                reservation = None  # released in the same transaction
            except BaseException:
                if writer is not None:
                    writer.discard()
                raise
        finally:
            if reservation is not None:
                await self.capacity.release(reservation)
