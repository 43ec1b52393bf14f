"""Which pool a data dir and its drives belong to, and at which position each drive is.

    DATA/pool.json     {"pool": ID, "k": K, "m": M, "drives": N}   (copied with the metadata mirrors)
    DRIVE/pool-id      {"pool": ID, "position": I}

A shard's place follows from its drive's position in --drives, so drives given in another order, a
drive of another pool, another K+M, or a pool's data dir run without its drives would read nothing
right: the daemon refuses to start instead. An empty drive (new, or replacing a lost one) takes the
position it is given.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from s3d.store.blobs import fsync_dir
from s3d.store.erasure.layout import Layout
from s3d.store.recovery import DataDirError

POOL_FILE = "pool.json"
DRIVE_FILE = "pool-id"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise DataDirError(f"{path} cannot be read: {e}") from None
    if not isinstance(doc, dict):
        raise DataDirError(f"{path} is not a pool identity file")
    return doc


def _write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def refuse_without_pool(data: Path) -> None:
    """A pool's data dir run as a plain one would find none of its blobs."""
    if (data / POOL_FILE).exists():
        raise DataDirError(f"{data} holds an erasure-coded pool: run it with its --drives and --erasure")


def check(data: Path, layout: Layout) -> str:
    """Check (or, the first time, record) the pool's identity in the data dir and on every drive."""
    drives = [_read(d / DRIVE_FILE) if d.is_dir() else None for d in layout.drives]
    pool = _read(data / POOL_FILE)
    if pool is None:  # a new pool, or a data dir that lost everything: the drives' own id, if they agree
        ids = Counter(str(d.get("pool")) for d in drives if d is not None)
        pool = {"pool": ids.most_common(1)[0][0] if ids else uuid.uuid4().hex,
                "k": layout.k, "m": layout.m, "drives": len(layout.drives)}  # fmt: skip
        _write(data / POOL_FILE, pool)
    shape = (pool.get("k"), pool.get("m"), pool.get("drives"))
    if shape != (layout.k, layout.m, len(layout.drives)):
        raise DataDirError(
            f"{data} holds a pool of {shape[0]}+{shape[1]} over {shape[2]} drives, "
            f"not {layout.k}+{layout.m} over {len(layout.drives)}"
        )
    for i, (path, found) in enumerate(zip(layout.drives, drives, strict=True)):
        if found is None:
            if path.is_dir() or not path.exists():
                path.mkdir(parents=True, exist_ok=True)
                _write(path / DRIVE_FILE, {"pool": pool["pool"], "position": i})
            continue
        if found.get("pool") != pool["pool"]:
            raise DataDirError(f"drive {path} belongs to another pool")
        if found.get("position") != i:
            raise DataDirError(
                f"drive {path} is at position {found.get('position')} of this pool, given at {i}: "
                "give the drives in their order"
            )
    return str(pool["pool"])


def read_pool(data: Path) -> str | None:
    """The pool's id recorded in a data dir."""
    doc = _read(data / POOL_FILE)
    return None if doc is None else str(doc.get("pool"))


def claim(drive: Path, pool_id: str, position: int) -> None:
    """Mark a replacement drive as the pool's drive at ``position``."""
    drive.mkdir(parents=True, exist_ok=True)
    _write(drive / DRIVE_FILE, {"pool": pool_id, "position": position})
