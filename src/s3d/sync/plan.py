"""The three-way decision for one path: the folder now, the bucket now, and both at the last sync."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath

from s3d.store.sync_state import Base
from s3d.sync.config import Direction
from s3d.sync.local import LocalEntry

CONFLICT_INFIX = ".sync-conflict-"
CONFLICT_TIME = "%Y%m%d-%H%M%S"


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    key: bytes
    size: int
    etag: str
    mtime_ns: int  # the file's own mtime when the object carries one (x-amz-meta-mtime), else the object's
    is_dir: bool = False


class Act(Enum):
    NOTHING = "nothing"
    UPLOAD = "upload"  # the folder's version goes to the bucket
    DOWNLOAD = "download"  # the bucket's version comes to the folder
    DELETE_REMOTE = "delete-remote"
    DELETE_LOCAL = "delete-local"
    FORGET = "forget"  # gone on both sides: drop the base
    COMPARE = "compare"  # both changed: the same content is a match, different content a conflict


DELETES = (Act.DELETE_REMOTE, Act.DELETE_LOCAL)


def local_changed(local: LocalEntry | None, base: Base | None) -> bool:
    if local is None or base is None:
        return (local is None) != (base is None)
    return (local.size, local.mtime_ns) != (base.size, base.mtime_ns)


def remote_changed(remote: RemoteEntry | None, base: Base | None) -> bool:
    if remote is None or base is None:
        return (remote is None) != (base is None)
    return remote.etag != base.etag


def decide(local: LocalEntry | None, remote: RemoteEntry | None, base: Base | None, direction: Direction) -> Act:
    lc, rc = local_changed(local, base), remote_changed(remote, base)
    if direction is Direction.UP:  # the folder's changes win; the bucket's are left as they are
        if not lc:
            return Act.NOTHING
        return Act.UPLOAD if local else (Act.DELETE_REMOTE if remote else Act.FORGET)
    if direction is Direction.DOWN:
        if not rc:
            return Act.NOTHING
        return Act.DOWNLOAD if remote else (Act.DELETE_LOCAL if local else Act.FORGET)
    if not lc and not rc:
        return Act.FORGET if base is not None and local is None and remote is None else Act.NOTHING
    if lc and not rc:
        return Act.UPLOAD if local else (Act.DELETE_REMOTE if remote else Act.FORGET)
    if rc and not lc:
        return Act.DOWNLOAD if remote else (Act.DELETE_LOCAL if local else Act.FORGET)
    # both sides changed
    if local is None and remote is None:
        return Act.FORGET
    if local is None:
        return Act.DOWNLOAD  # a modification beats a deletion
    if remote is None:
        return Act.UPLOAD
    return Act.COMPARE


def conflict_name(path: str, at: float, taken: set[str]) -> str:
    """``name.sync-conflict-YYYYMMDD-HHMMSS.ext`` beside ``path`` (``-N`` added when that is taken)."""
    p = PurePosixPath(path)
    stem, ext = (p.stem, p.suffix) if p.suffix and p.stem else (p.name, "")
    stamp = time.strftime(CONFLICT_TIME, time.localtime(at))
    parent = "" if str(p.parent) == "." else f"{p.parent}/"
    candidate = f"{parent}{stem}{CONFLICT_INFIX}{stamp}{ext}"
    n = 1
    while candidate in taken:
        candidate = f"{parent}{stem}{CONFLICT_INFIX}{stamp}-{n}{ext}"
        n += 1
    return candidate
