"""The pool's drives: where each keeps its shards, and whether it is in service.

A drive leaves service the first time a write to it fails (I/O error, read-only filesystem) or finds it
full; it stays out until the daemon restarts (or `s3d drive replace` rebuilds it). Each process keeps its
own view: a worker that hits the failure takes the drive out for itself.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from s3d.store.blobs import FANOUT, fsync_dir, reserve_for

log = logging.getLogger("s3d.erasure")
TMP = "tmp"
PROBE_FILE = "probe"
REFILL_MARGIN = 64 << 20  # a full drive is back in service once this much is free above its reserve
BLOBS = "blobs"


class DriveState(StrEnum):
    OK = "ok"
    FAILED = "failed"  # I/O errors or read-only
    FULL = "full"  # no room left above its reserve
    MISSING = "missing"  # the directory cannot be used at all


@dataclass(slots=True)
class Drive:
    path: Path
    state: DriveState = DriveState.OK
    reason: str = ""
    reserve: int = 0
    errors: int = 0
    _made: set[str] = field(default_factory=set)

    @property
    def tmp(self) -> Path:
        return self.path / TMP

    def shard_path(self, blob: str) -> Path:
        return self.path / BLOBS / blob[:2] / blob

    @property
    def in_service(self) -> bool:
        return self.state == DriveState.OK

    def prepare(self) -> None:
        """Make tmp/ and blobs/<xx>/ (synced); a drive that cannot is out of service from the start."""
        try:
            self._make_dirs()
        except OSError as e:
            self.take_out(DriveState.MISSING, e)

    def _make_dirs(self) -> None:
        created = False
        for d in (self.tmp, self.path / BLOBS, *(self.path / BLOBS / f"{i:02x}" for i in range(FANOUT))):
            if not d.is_dir():
                d.mkdir(parents=True, exist_ok=True)
                created = True
        if created:
            fsync_dir(self.path / BLOBS)
            fsync_dir(self.path)
        self.reserve = reserve_for(self.path)

    def probe(self) -> bool:
        """Back in service if its directories can be made and a synced file written there (a replaced or
        remounted drive); it stays out otherwise, and a full one until REFILL_MARGIN is free again."""
        probe = self.tmp / PROBE_FILE
        try:
            if self.state == DriveState.FULL and not self.has_room(REFILL_MARGIN):
                return False
            self._make_dirs()
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, PROBE_FILE.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.unlink(probe)
        except OSError as e:
            self.failed_write(e)
            return False
        self.state = DriveState.OK
        self.reason = ""
        return True

    def has_room(self, more: int) -> bool:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize - more >= self.reserve

    def take_out(self, state: DriveState, e: OSError | str) -> None:
        reason = e if isinstance(e, str) else (e.strerror or str(e))
        self.errors += 1
        if self.state == DriveState.OK:
            log.error("drive %s taken out of service (%s): %s", self.path, state, reason)
        self.state = state
        self.reason = reason

    def failed_write(self, e: OSError) -> None:
        full = e.errno in (errno.ENOSPC, errno.EDQUOT)
        self.take_out(DriveState.FULL if full else DriveState.FAILED, e)
