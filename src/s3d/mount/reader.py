"""Reads of one object version through a block cache in memory.

The object is cut into aligned blocks (the read block); a block is fetched once, with a ranged GET received
straight into a block buffer, and every later read of it is a copy from there. While reads are sequential the
blocks ahead are fetched in the background, several GETs in parallel, over a window that doubles up to the
read-ahead size, and the blocks behind are let go (the kernel's page cache has them). Once reads are random and
have missed often, an object that fits the cache is filled in the background, so the reads that follow are
local. The buffers come from one pool per mount, bounded by the cache size: when it is full, the least recently
used block of any open file gives its buffer up. Buffers are reused rather than returned to the system (fresh
memory costs a page fault per page), except beyond a small reserve once files close.
"""

from __future__ import annotations

import mmap
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass

Fetch = Callable[[int, list[memoryview]], None]  # (start, outs): fill outs, in order, with the bytes from start on
FETCH_MAX = 4 * 1024 * 1024  # largest single GET
READ_PARALLEL = 4  # background GETs in flight per open file
FILL_AFTER = 16  # random reads that had to wait for the daemon before the whole object is filled
KEEP_FREE = 64  # free buffers kept for reuse once no file needs them


class ReaderClosed(Exception):
    """The cache was closed while a read used it (the file was changed or renamed meanwhile): read again."""


@dataclass(frozen=True, slots=True)
class ReadSettings:
    block: int  # the unit fetched and cached; a random read fetches one
    ahead: int  # the largest read-ahead window
    parallel: int = READ_PARALLEL


class BlockPool:
    """The block buffers of all open files: at most `limit` bytes of them, least recently used given up first."""

    def __init__(self, block: int, limit: int) -> None:
        self.block = block
        self.limit = limit
        self._slots = max(limit // block, 1)
        self._made = 0
        self._free: list[mmap.mmap] = []
        self._lru: OrderedDict[tuple[int, int], BlockCache] = OrderedDict()
        self._lock = threading.Lock()

    def take(self) -> mmap.mmap:
        while True:
            with self._lock:
                if self._free:
                    return self._free.pop()
                if self._made < self._slots or not self._lru:  # (all in flight: one more, given back later)
                    self._made += 1
                    return mmap.mmap(-1, self.block)
                (_, block), cache = self._lru.popitem(last=False)
            buf = cache.give_up(block)
            if buf is not None:
                return buf

    def give_back(self, bufs: list[mmap.mmap], idle: bool = False) -> None:
        with self._lock:
            for buf in bufs:
                if self._made > self._slots or (idle and len(self._free) >= KEEP_FREE):
                    self._made -= 1
                    buf.close()
                else:
                    self._free.append(buf)

    def cached(self, cache: BlockCache, block: int) -> None:
        with self._lock:
            self._lru[(id(cache), block)] = cache

    def touch(self, cache: BlockCache, block: int) -> None:
        with self._lock:
            key = (id(cache), block)
            if key in self._lru:
                self._lru.move_to_end(key)

    def forget(self, cache: BlockCache, block: int | None = None) -> None:
        with self._lock:
            if block is not None:
                self._lru.pop((id(cache), block), None)
                return
            for key in [k for k in self._lru if k[0] == id(cache)]:
                del self._lru[key]


class BlockCache:
    def __init__(self, fetch: Fetch, size: int, settings: ReadSettings, pool: Executor, blocks: BlockPool) -> None:
        self._fetch = fetch
        self.size = size
        self._block = blocks.block
        self._ahead = max(settings.ahead, self._block)
        self._parallel = max(settings.parallel, 1)
        self._executor = pool
        self._pool = blocks
        self._lock = threading.Lock()
        self._bufs: dict[int, mmap.mmap] = {}
        self._pending: dict[int, Future[None]] = {}
        self._busy = 0  # fetches running; the buffers go back once none is and the cache is closed
        self._background = 0
        self._closed = False
        self._next = -1  # where a sequential read would continue
        self._window = self._block
        self._sequential = False
        self._misses = 0
        self._fill_at: int | None = None  # the next block the background fill looks at; None: not filling
        self._blocks = -(-size // self._block)

    def read_into(self, out: memoryview, offset: int) -> int:
        """Fill `out` with the object's bytes from `offset` on; the bytes read (fewer at the end)."""
        end = min(offset + len(out), self.size)
        if offset >= end:
            return 0
        first, last = offset // self._block, (end - 1) // self._block
        with self._lock:
            self._sequential = self._next - 2 * self._block <= offset <= self._next + self._block
            self._window = min(self._window * 2, self._ahead) if self._sequential else self._block
            self._next = max(self._next, end) if self._sequential else end
            behind = self._copied(out, offset, end, first, last)
        if behind is None:  # a miss: fetch what is missing, then copy
            while True:
                for f in self._wanted(first, last):
                    f.result()
                self._more()
                with self._lock:
                    behind = self._copied(out, offset, end, first, last)
                if behind is not None:
                    break  # (else given up meanwhile, the pool being full: fetch again)
        elif self._sequential:
            self._more()
        for b in range(first, last + 1):
            self._pool.touch(self, b)
        if behind:
            self._pool.give_back(behind)
        return end - offset

    def _copied(self, out: memoryview, offset: int, end: int, first: int, last: int) -> list[mmap.mmap] | None:
        """Copy [offset, end) into `out` if all its blocks are here (under the lock, so none is given up meanwhile);
        then the buffers let go behind a sequential reader. None: some block is missing."""
        if self._closed:
            raise ReaderClosed
        bufs = [self._bufs.get(b) for b in range(first, last + 1)]
        if None in bufs:
            return None
        pos, at = offset - first * self._block, 0
        for buf in bufs:
            assert buf is not None
            take = min(self._block - pos, end - offset - at)
            with memoryview(buf) as view:
                out[at : at + take] = view[pos : pos + take]
            at += take
            pos = 0
        return self._behind(first) if self._sequential else []

    def _behind(self, first: int) -> list[mmap.mmap]:
        """Sequential reading: the window's worth of blocks before the one before `first` are let go (unless the
        object is being filled); under the lock."""
        if self._fill_at is not None:
            return []
        out = []
        for b in [b for b in range(max(first - 1 - self._ahead // self._block, 0), first - 1) if b in self._bufs]:
            out.append(self._bufs.pop(b))
            self._pool.forget(self, b)
        return out

    def _wanted(self, first: int, last: int) -> list[Future[None]]:
        """The fetches to wait for (started here, in this thread, for the blocks nobody fetches yet)."""
        own: list[tuple[int, int, Future[None]]] = []
        waits: list[Future[None]] = []
        with self._lock:
            if self._closed:
                raise ReaderClosed
            b = first
            while b <= last:
                if b in self._bufs:
                    b += 1
                elif b in self._pending:
                    waits.append(self._pending[b])
                    b += 1
                else:
                    job = self._claim(b, last + 1)
                    own.append(job)
                    waits.append(job[2])
                    b = job[1]
            if own:
                self._misses += 0 if self._sequential else 1
                if self._fill_at is None and self._misses >= FILL_AFTER and self.size <= self._pool.limit:
                    self._fill_at = 0
        for lo, hi, fut in own:
            self._run(lo, hi, fut)
        return waits

    def _claim(self, lo: int, hi: int) -> tuple[int, int, Future[None]]:
        """Blocks [lo, up to hi) that are neither cached nor pending, at most one GET's worth; under the lock."""
        most = max(FETCH_MAX // self._block, 1)
        end = lo
        while end < hi and end - lo < most and end not in self._bufs and end not in self._pending:
            end += 1
        fut: Future[None] = Future()
        for b in range(lo, end):
            self._pending[b] = fut
        self._busy += 1
        return lo, end, fut

    def _more(self) -> None:
        """Keep the background fetches going: read-ahead while sequential, else the fill once started."""
        jobs: list[tuple[int, int, Future[None]]] = []
        with self._lock:
            if self._closed:
                return
            limit = self._blocks
            start = None
            if self._sequential and self._next >= 0:
                start = self._next // self._block
                limit = min(self._blocks, -(-(self._next + self._window) // self._block))
            elif self._fill_at is not None:
                start = self._fill_at
            while start is not None and self._background < self._parallel:
                while start < limit and (start in self._bufs or start in self._pending):
                    start += 1
                if start >= limit:
                    break
                job = self._claim(start, limit)
                self._background += 1
                jobs.append(job)
                start = job[1]
            if not self._sequential and self._fill_at is not None and start is not None:
                self._fill_at = start
        for job in jobs:
            self._executor.submit(self._background_run, *job)

    def _background_run(self, lo: int, hi: int, fut: Future[None]) -> None:
        self._run(lo, hi, fut)
        with self._lock:
            self._background -= 1
        if fut.exception() is None:  # a failed read-ahead is fetched again by the read that needs it
            self._more()

    def _run(self, lo: int, hi: int, fut: Future[None]) -> None:
        start = lo * self._block
        bufs = [self._pool.take() for _ in range(lo, hi)]
        sizes = [min(self._block, self.size - b * self._block) for b in range(lo, hi)]
        try:
            views = [memoryview(buf)[:n] for buf, n in zip(bufs, sizes, strict=True)]
            try:
                self._fetch(start, views)
            finally:
                for v in views:
                    v.release()
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits for these blocks
            self._pool.give_back(bufs)
            with self._lock:
                for b in range(lo, hi):
                    self._pending.pop(b, None)
                self._done()
            fut.set_exception(e)
            return
        with self._lock:
            for b, buf in zip(range(lo, hi), bufs, strict=True):
                self._pending.pop(b, None)
                self._bufs[b] = buf
            closed = self._closed
            self._done()
        if not closed:
            for b in range(lo, hi):
                self._pool.cached(self, b)
        fut.set_result(None)

    def give_up(self, block: int) -> mmap.mmap | None:
        """The pool takes this block's buffer back (None if the block is gone already)."""
        with self._lock:
            buf = self._bufs.pop(block, None)
            if buf is not None and self._fill_at is not None:
                self._fill_at = self._blocks  # the object does not fit after all: stop filling
            return buf

    def _done(self) -> None:
        self._busy -= 1
        if self._closed and self._busy == 0:
            self._release()

    def _release(self) -> None:
        """Every buffer back to the pool; under the lock, once closed and idle."""
        bufs = list(self._bufs.values())
        self._bufs.clear()
        self._pool.give_back(bufs, idle=True)

    def close(self) -> None:
        self._pool.forget(self)
        with self._lock:
            self._closed = True
            if self._busy == 0:
                self._release()
