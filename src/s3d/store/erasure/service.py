"""The healer: one task in the daemon's main process that heals what was queued and scrubs the pool.

- the heal queue (DATA/heal/<blob>, filled by any process that found damage) is drained first;
- the scrub walks every blob the metadata references, verifying each shard's every fragment and
  healing what it finds, reading at most ``bytes_per_second`` (a setting) unless asked for a pass
  now (`s3d scrub --now` leaves DATA/SCRUB_REQUEST);
- the state (drives, queue, heal and scrub progress) is written to DATA/POOL_STATUS for
  `s3d drives` and /_s3d/status.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from s3d.store import objects, uploads, versions
from s3d.store.db import connect
from s3d.store.erasure.heal import Outcome, heal
from s3d.store.erasure.pool import PROBE_INTERVAL, ErasurePool

log = logging.getLogger("s3d.erasure")
POOL_STATUS = "pool-status.json"
SCRUB_REQUEST = "scrub-request"
IDLE_WAIT = 1.0  # seconds between looks at the queue when there is nothing to do
STATUS_EVERY = 1.0  # seconds between status file writes while busy
PASS_PAUSE = 24 * 3600.0  # seconds between the end of a scrub pass and the next, unless one is asked for


@dataclass(slots=True)
class ScrubState:
    passes: int = 0  # full passes finished
    done: int = 0  # blobs checked in the current pass
    total: int = 0  # blobs in the current pass
    running: bool = False
    urgent: bool = False  # asked for with --now: no I/O budget
    last_pass_end: float | None = None
    bytes_read: int = 0


@dataclass(slots=True)
class HealState:
    healed_blobs: int = 0
    healed_shards: int = 0
    damaged_shards: int = 0  # found by the healer (queue and scrub)
    lost_blobs: list[str] = field(default_factory=list)  # too damaged to rebuild


def referenced_blobs(conn: sqlite3.Connection) -> list[str]:
    return sorted(objects.blob_references(conn) | versions.blob_references(conn) | uploads.part_blobs(conn))


class Healer:
    def __init__(self, pool: ErasurePool, db_path: str, bytes_per_second: int) -> None:
        self.pool = pool
        self.db_path = db_path
        self.budget = bytes_per_second
        self.root = pool.root
        self.scrub = ScrubState()
        self.heals = HealState()
        self._written = 0.0
        self._probed = 0.0
        self._pending: list[str] = []
        self._tried: set[str] = set()  # queued blobs healed only in part (a drive out): again when one is back

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        conn = connect(self.db_path)
        try:
            while True:
                try:
                    if time.monotonic() - self._probed > PROBE_INTERVAL:
                        self._probed = time.monotonic()
                        if await loop.run_in_executor(None, self.pool.probe, True):
                            self._tried.clear()  # a drive is back: what waited for it heals now
                    busy = await self._heal_queue(loop)
                    busy = await self._scrub_step(loop, conn) or busy
                    self._status(force=not busy)
                except (OSError, sqlite3.Error) as e:
                    log.error("healer: %s", e)
                    busy = False
                if not busy:
                    await asyncio.sleep(IDLE_WAIT)
        finally:
            conn.close()

    def _account(self, blob: str, out: Outcome) -> None:
        self.heals.damaged_shards += out.bad
        if out.healed:
            self.heals.healed_blobs += 1
            self.heals.healed_shards += out.healed
        if out.lost and blob not in self.heals.lost_blobs:
            self.heals.lost_blobs.append(blob)

    async def _heal_queue(self, loop: asyncio.AbstractEventLoop) -> bool:
        queued = self.pool.queued()
        if not queued:
            return False
        if await loop.run_in_executor(None, self.pool.probe):
            self._tried.clear()
        progress = False
        for blob in queued:
            if blob in self._tried:
                continue
            out = await loop.run_in_executor(None, heal, self.pool, blob)
            self._account(blob, out)
            if out.healed < out.bad and not out.lost:
                self._tried.add(blob)  # a drive to write to is out of service
                continue
            progress = True
            try:
                os.unlink(self.pool.heal_queue / blob)
            except FileNotFoundError:
                pass
            self._status()
        return progress

    async def _scrub_step(self, loop: asyncio.AbstractEventLoop, conn: sqlite3.Connection) -> bool:
        request = self.root / SCRUB_REQUEST
        if not self._pending:
            if self.scrub.running:  # a pass just ended
                self.scrub.running = False
                self.scrub.passes += 1
                self.scrub.last_pass_end = time.time()
                if self.scrub.urgent:
                    self.scrub.urgent = False
                    request.unlink(missing_ok=True)
                return False
            urgent = request.exists()
            last = self.scrub.last_pass_end
            if not urgent and last is not None and time.time() - last < PASS_PAUSE:
                return False
            self._pending = referenced_blobs(conn)
            self.scrub = ScrubState(
                passes=self.scrub.passes, total=len(self._pending), running=True, urgent=urgent,
                last_pass_end=self.scrub.last_pass_end,
            )  # fmt: skip
            await loop.run_in_executor(None, self.pool.probe)
            return True
        blob = self._pending.pop()
        out = await loop.run_in_executor(None, heal, self.pool, blob)
        self._account(blob, out)
        self.scrub.done += 1
        self.scrub.bytes_read += out.bytes_read
        self._status()
        if not self.scrub.urgent and out.bytes_read:
            await asyncio.sleep(out.bytes_read / self.budget)
        return True

    def status(self) -> dict[str, Any]:
        return {
            "erasure": f"{self.pool.layout.k}+{self.pool.layout.m}",
            "degraded": self.pool.degraded or bool(self.pool.queued()),
            "drives": [{"path": str(d.path), "state": str(d.state), "reason": d.reason} for d in self.pool.drives],
            "queued": len(self.pool.queued()),
            "heal": asdict(self.heals),
            "scrub": asdict(self.scrub),
            "updated": time.time(),
        }

    def _status(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < STATUS_EVERY:
            return
        self._written = now
        write_status(self.root, self.status())


def write_status(root: Path, doc: dict[str, Any]) -> None:
    tmp = root / (POOL_STATUS + ".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, root / POOL_STATUS)


def read_status(root: Path) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = json.loads((root / POOL_STATUS).read_text())
    except (OSError, ValueError):
        return None
    return doc
