"""Verifying and healing blobs of the pool: every fragment of every shard read and checked; the shards
found missing or damaged rebuilt from the good ones (decode, re-encode) and placed as a writer places
them (tmp file, fsync, rename, fsync dir)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from s3d.store.erasure.pool import ErasurePool
from s3d.store.erasure.reader import BlobReader
from s3d.store.erasure.shard import Header, record
from s3d.store.erasure.sink import ShardOut

log = logging.getLogger("s3d.erasure")


@dataclass(slots=True)
class Outcome:
    bytes_read: int = 0
    bad: int = 0  # shards found missing or damaged
    healed: int = 0  # of them, rebuilt
    bytes_written: int = 0
    gone: bool = False  # the blob no longer exists (deleted meanwhile)
    lost: bool = False  # too much of it is lost to rebuild


def _verify(r: BlobReader) -> int:
    """Read every fragment of every shard (the bad ones end up in r.bad). Returns the bytes read."""
    read = 0
    for n in range(r.header.stripes):
        for i in list(r.fds):
            frag = r.fragment(i, n)
            read += len(frag) if frag is not None else 0
    return read


def heal(pool: ErasurePool, blob: str) -> Outcome:
    """Verify a blob and rebuild its missing or damaged shards."""
    out = Outcome()
    try:
        r = BlobReader(pool, blob, report=False)
    except FileNotFoundError:
        out.gone = True
        return out
    except Exception:  # noqa: BLE001 - DataUnavailable or I/O: logged by the reader
        out.lost = True
        return out
    try:
        out.bytes_read = _verify(r)
        if len(r.fds) < pool.layout.k:
            out.lost = True
            return out
        out.bad = len(r.bad)
        if not r.bad:
            return out
        writing = _rebuild(pool, blob, r, set(r.bad))
        if writing is None:
            out.lost = True
            return out
        out.healed = len(writing)
        out.bytes_written = sum(shard.offset for shard in writing.values())
        if _deleted_meanwhile(pool, blob, set(writing)):
            for shard in writing.values():
                shard.drop()
            out.gone = True
            return out
        log.info("blob %s healed: shards %s rebuilt", blob, sorted(writing))
        return out
    finally:
        r.close()


def _rebuild(pool: ErasurePool, blob: str, r: BlobReader, todo: set[int]) -> dict[int, ShardOut] | None:
    """Write shards ``todo`` anew on their drives; the placed ones (a drive that fails is taken out of
    service and its shard left for a later heal). None if the data cannot be decoded."""
    drives = pool.placement(blob)
    writing: dict[int, ShardOut] = {}

    def fail(i: int, e: OSError) -> None:
        drives[i].failed_write(e)
        shard = writing.pop(i, None)
        if shard is not None:
            shard.drop()

    for i in sorted(todo):
        if drives[i].in_service:
            try:
                writing[i] = ShardOut(drives[i], blob)
            except OSError as e:
                fail(i, e)
    try:
        for n in range(r.header.stripes):
            frags = pool.codec.encode(r.stripe(n))
            for i, shard in list(writing.items()):
                try:
                    shard.append(record(frags[i]))
                except OSError as e:
                    fail(i, e)
    except Exception as e:  # noqa: BLE001 - DataUnavailable (too much lost), logged by the reader
        for shard in writing.values():
            shard.drop()
        log.error("healing blob %s failed: %s", blob, e)
        return None
    h = r.header
    for i, shard in list(writing.items()):
        try:
            shard.place(Header(h.k, h.m, i, h.stripe_size, h.fragment_size, h.data_size))
        except OSError as e:
            fail(i, e)
    return writing


def _deleted_meanwhile(pool: ErasurePool, blob: str, rebuilt: set[int]) -> bool:
    """No shard but the rebuilt ones is left: the blob was removed while it healed; do not bring it back."""
    for i, d in enumerate(pool.placement(blob)):
        if i not in rebuilt and os.path.exists(d.shard_path(blob)):
            return False
    return True
