"""Reading a blob back from its shards: K good fragments per stripe, each checked, decoded; the others
stand in for any that is missing or damaged. A damaged fragment is never used."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

from s3d.store.erasure.base import PoolParts
from s3d.store.erasure.shard import Header, ShardDamaged, read_fragment, read_header
from s3d.store.errors import DataUnavailable

log = logging.getLogger("s3d.erasure")


class BlobReader:
    """The open shards of one blob (close it). FileNotFoundError when no shard of it exists at all
    (the blob went: its object was replaced or deleted meanwhile)."""

    def __init__(self, pool: PoolParts, blob: str, report: bool = True) -> None:
        """``report``: queue the blob for healing when damage is found (the healer itself does not)."""
        self.pool = pool
        self.blob = blob
        self.report = report
        self.bad: set[int] = set()  # shards found missing or damaged
        self.fds: dict[int, int] = {}
        self.headers: dict[int, Header] = {}
        self._closed = False
        absent = 0
        for i, drive in enumerate(pool.placement(blob)):
            try:
                fd = os.open(drive.shard_path(blob), os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                absent += 1
                self.bad.add(i)
                continue
            except OSError:
                self.bad.add(i)
                continue
            try:
                h = read_header(fd)
                if (h.k, h.m, h.index) != (pool.layout.k, pool.layout.m, i):
                    raise ShardDamaged("header does not match its place in the pool")
            except (ShardDamaged, OSError):
                os.close(fd)
                self.bad.add(i)
                continue
            self.fds[i] = fd
            self.headers[i] = h
        if not self.fds and absent == pool.layout.width:
            raise FileNotFoundError(blob)
        if len(self.fds) < pool.layout.k:
            self.close()
            raise self._lost("too few readable shards")
        # the shape most shards agree on (a damaged header that still passed its CRC is outvoted)
        self.header, _ = Counter(replace(h, index=0) for h in self.headers.values()).most_common(1)[0]
        for i, h in list(self.headers.items()):
            if replace(h, index=0) != self.header:
                self._drop(i)

    @property
    def size(self) -> int:
        return self.header.data_size

    def _lost(self, why: str) -> DataUnavailable:
        log.error("blob %s cannot be read: %s (damaged or missing shards: %s)", self.blob, why, sorted(self.bad))
        self.pool.counters.unreadable += 1
        return DataUnavailable(f"more shards of the object's data are lost than parity can rebuild ({why})")

    def _drop(self, i: int) -> None:
        self.bad.add(i)
        fd = self.fds.pop(i, None)
        self.headers.pop(i, None)
        if fd is not None:
            os.close(fd)

    def fragment(self, i: int, stripe: int) -> bytes | None:
        fd = self.fds.get(i)
        if fd is None:
            return None
        try:
            return read_fragment(fd, self.header, stripe)
        except (ShardDamaged, OSError) as e:
            log.warning("blob %s shard %d stripe %d: %s", self.blob, i, stripe, e)
            self.pool.counters.damaged_fragments += 1
            self._drop(i)
            return None

    def stripe(self, n: int) -> bytes:
        """The data of stripe n, from the first K good fragments (data shards first: no parity math then)."""
        got: list[bytes] = []
        for i in sorted(self.fds):
            if len(got) == self.pool.layout.k:
                break
            frag = self.fragment(i, n)
            if frag is not None:
                got.append(frag)
        if len(got) < self.pool.layout.k:
            raise self._lost(f"stripe {n}")
        data = self.pool.codec.decode(got)
        want = min(self.header.stripe_size, self.size - n * self.header.stripe_size)
        if len(data) != want:
            raise self._lost(f"stripe {n} decodes to {len(data)} bytes, not {want}")
        return data

    def read(self, offset: int, length: int) -> Iterator[bytes]:
        """Bytes [offset, offset+length) of the blob: only the stripes holding them are read."""
        if offset + length > self.size:
            raise DataUnavailable("the object's data is shorter than its metadata says")
        stripe_size = self.header.stripe_size
        end = offset + length
        at = offset
        while at < end:
            n = at // stripe_size
            data = self.stripe(n)
            lo = at - n * stripe_size
            hi = min(len(data), end - n * stripe_size)
            yield data[lo:hi] if (lo, hi) != (0, len(data)) else data
            at = n * stripe_size + hi

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        if self.bad and self.report:
            self.pool.damaged(self.blob, f"shards {sorted(self.bad)} missing or damaged")


class StripeRead:
    """Random reads of a blob, decoding the stripes they touch (the last one kept for the next read)."""

    def __init__(self, reader: BlobReader) -> None:
        self.reader = reader
        self._cached: tuple[int, bytes] | None = None

    def _stripe(self, n: int) -> bytes:
        if self._cached is None or self._cached[0] != n:
            self._cached = (n, self.reader.stripe(n))
        return self._cached[1]

    def read_at(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.reader.size)
        size = self.reader.header.stripe_size
        out: list[bytes] = []
        at = offset
        while at < end:
            n = at // size
            data = self._stripe(n)
            lo = at - n * size
            piece = data[lo : min(len(data), end - n * size)]
            out.append(piece)
            at += len(piece)
        return b"".join(out)

    def close(self) -> None:
        self.reader.close()
