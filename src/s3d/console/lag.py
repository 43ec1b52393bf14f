"""The upload queue's lag over the last hour: an in-memory ring of samples, taken by each worker that serves the
console (gateway mode). The console's chart reads it; the live figures come from /_s3d/status."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from s3d.gateway.status import queue_summary

SAMPLE_SECONDS = 10.0
WINDOW_SECONDS = 3600.0
log = logging.getLogger("s3d")


class LagRing:
    def __init__(self) -> None:
        self.samples: deque[dict[str, float]] = deque(maxlen=int(WINDOW_SECONDS / SAMPLE_SECONDS))
        self.task: asyncio.Task[None] | None = None

    def sample(self, conn: sqlite3.Connection) -> None:
        q = queue_summary(conn)
        self.samples.append(
            {
                "t": round(time.time(), 1),
                "records": q["pending_records"],
                "bytes": q["pending_bytes"],
                "oldest_s": q["oldest_pending_age_s"],
            }
        )

    def start(self, reader: Callable[[], sqlite3.Connection]) -> None:
        """Sample now and every SAMPLE_SECONDS from then on (once per process)."""
        if self.task is not None:
            return
        self.sample(reader())
        self.task = asyncio.get_running_loop().create_task(self._run(reader))

    async def _run(self, reader: Callable[[], sqlite3.Connection]) -> None:
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            try:
                self.sample(reader())
            except sqlite3.Error as e:
                log.warning("console lag sample failed: %s", e)

    def series(self) -> list[dict[str, Any]]:
        cutoff = time.time() - WINDOW_SECONDS
        return [s for s in self.samples if s["t"] >= cutoff]
