"""Object metadata as stat attributes, and back.

mtime is rclone's `X-Amz-Meta-Mtime` (fractional Unix seconds) or s3fs's `x-amz-meta-mtime` (integer seconds; the
header name is the same), else the object's Last-Modified. mode, uid and gid are s3fs's `x-amz-meta-mode`
(with or without the file-type bits), `x-amz-meta-uid`, `x-amz-meta-gid`. Writes store mtime in rclone's form and
mode/uid/gid in s3fs's, so a bucket looks the same through either tool.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

META_MTIME = "mtime"
META_MODE = "mode"
META_UID = "uid"
META_GID = "gid"
FILE_PERMS = 0o644
DIR_PERMS = 0o755
PERM_BITS = 0o7777
STAT_BLOCK = 512  # st_blocks counts units of 512 bytes
NS = 1_000_000_000
MTIME_MAX = 1 << 40  # seconds; anything beyond is not a time


@dataclass(frozen=True, slots=True)
class Entry:
    is_dir: bool
    size: int = 0
    mtime_ns: int = 0
    perms: int | None = None
    uid: int | None = None
    gid: int | None = None
    etag: str = ""  # the version these attributes describe ("" for directories)

    def with_meta(self, meta: dict[str, str]) -> Entry:
        mtime, mode = _seconds_ns(meta.get(META_MTIME)), _int(meta.get(META_MODE))
        uid, gid = _int(meta.get(META_UID)), _int(meta.get(META_GID))
        return replace(
            self,
            mtime_ns=self.mtime_ns if mtime is None else mtime,
            perms=self.perms if mode is None else mode & PERM_BITS,
            uid=self.uid if uid is None else uid,
            gid=self.gid if gid is None else gid,
        )

    def meta(self) -> dict[str, str]:
        """The user metadata written with the object (rclone's mtime, s3fs's mode/uid/gid)."""
        file_type = stat.S_IFDIR if self.is_dir else stat.S_IFREG
        seconds, ns = divmod(self.mtime_ns, NS)
        m = {META_MTIME: f"{seconds}.{ns:09d}".rstrip("0").rstrip(".")}  # rclone's fractional seconds
        if self.perms is not None:
            m[META_MODE] = str(file_type | self.perms)
        if self.uid is not None:
            m[META_UID] = str(self.uid)
        if self.gid is not None:
            m[META_GID] = str(self.gid)
        return m

    def stat(self, block_size: int) -> dict[str, Any]:
        if self.is_dir:
            mode, nlink = stat.S_IFDIR | (self.perms if self.perms is not None else DIR_PERMS), 2
        else:
            mode, nlink = stat.S_IFREG | (self.perms if self.perms is not None else FILE_PERMS), 1
        t = self.mtime_ns
        return {
            "st_mode": mode,
            "st_nlink": nlink,
            "st_size": self.size,
            "st_blocks": math.ceil(self.size / STAT_BLOCK),
            "st_blksize": block_size,
            "st_uid": self.uid if self.uid is not None else os.getuid(),
            "st_gid": self.gid if self.gid is not None else os.getgid(),
            "st_mtime": t,
            "st_ctime": t,
            "st_atime": t,
        }


def from_head(head: dict[str, Any], is_dir: bool = False) -> Entry:
    size = 0 if is_dir else int(head.get("ContentLength", 0))
    base = Entry(is_dir, size, _ns(head.get("LastModified")), etag="" if is_dir else str(head.get("ETag", "")))
    return base.with_meta({k.lower(): v for k, v in (head.get("Metadata") or {}).items()})


def from_listing(item: dict[str, Any]) -> Entry:
    return Entry(False, int(item.get("Size", 0)), _ns(item.get("LastModified")), etag=str(item.get("ETag", "")))


def _ns(t: Any) -> int:
    return round(t.timestamp() * NS) if isinstance(t, datetime) else 0


def _seconds_ns(v: str | None) -> int | None:
    """Unix seconds, integer (s3fs) or fractional (rclone), as exact nanoseconds."""
    if v is None:
        return None
    try:
        d = Decimal(v.strip())
    except InvalidOperation:
        return None
    return int(d * NS) if d.is_finite() and 0 <= d < MTIME_MAX else None


def _int(v: str | None) -> int | None:
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        return None
