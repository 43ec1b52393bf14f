"""`s3d drive replace OLD NEW`: rebuild, with the daemon stopped, every shard placed on OLD onto NEW."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from s3d.store import db
from s3d.store.erasure import identity
from s3d.store.erasure.heal import heal
from s3d.store.erasure.layout import Layout
from s3d.store.erasure.pool import ErasurePool
from s3d.store.erasure.service import referenced_blobs
from s3d.store.recovery import DRIVE_LOCK_FILE, lock_data_dir, lock_drives

OWN_ENTRIES = {"tmp", "blobs", "meta", identity.DRIVE_FILE, DRIVE_LOCK_FILE}  # what a drive of the pool holds


def _pool_id(data: Path) -> str:
    found = identity.read_pool(data)
    if found is None:
        raise ReplaceError(f"{data} holds no pool (no {identity.POOL_FILE})")
    return found


class ReplaceError(Exception):
    """The replacement cannot be done; the message says why."""


@dataclass(slots=True)
class Replaced:
    healed_shards: int = 0
    bytes_written: int = 0
    lost_blobs: list[str] = field(default_factory=list)


def replace_drive(data: Path, layout: Layout, old: Path, new: Path) -> Replaced:
    drives = list(layout.drives)
    if old not in drives:
        raise ReplaceError(f"{old} is not one of the pool's drives ({', '.join(map(str, drives))})")
    if new in drives:
        raise ReplaceError(f"{new} is already one of the pool's drives")
    if new.exists() and set(os.listdir(new)) - OWN_ENTRIES:
        raise ReplaceError(f"{new} is not empty")
    at = drives.index(old)
    drives[at] = new
    # the drives' locks too: a daemon running on them with another data dir would be writing beside the rebuild
    locks = [lock_data_dir(data)]
    try:
        locks += lock_drives([*drives, old] if old.is_dir() else drives)
        pool_id = identity.check(data, layout) if old.is_dir() else _pool_id(data)
        identity.claim(new, pool_id, at)
        pool = ErasurePool(data, replace(layout, drives=tuple(drives)))
        if not pool.drives[at].in_service:
            raise ReplaceError(f"{new} cannot be used: {pool.drives[at].reason}")
        conn = db.connect(str(data / "meta.db"))
        try:
            blobs = referenced_blobs(conn)
        finally:
            conn.close()
        done = Replaced()
        for blob in blobs:
            if at not in pool.layout.placement(blob):
                continue
            out = heal(pool, blob)
            done.healed_shards += out.healed
            done.bytes_written += out.bytes_written
            if out.lost:
                done.lost_blobs.append(blob)
        return done
    finally:
        for fd in locks:
            os.close(fd)
