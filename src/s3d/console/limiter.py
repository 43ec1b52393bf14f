"""Failed sign-ins, counted per client address: after MAX_FAILURES within WINDOW_SECONDS, sign-in waits.

The count lives in DATA/console/failures/ (one small file per address, named by its SHA-256) so that every worker
process sees the same count: spreading tries over the workers gains an attacker nothing. Two workers recording a
failure at the same instant may count it once; the limit holds within that.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

MAX_FAILURES = 5
WINDOW_SECONDS = 60.0
MAX_TRACKED = 10_000  # address files kept at most; beyond it, those idle for a window are removed
FAILURES_DIR = Path("console") / "failures"


class SignInLimiter:
    def __init__(self, data: Path) -> None:
        self.dir = data / FAILURES_DIR

    def _path(self, client: str) -> Path:
        return self.dir / hashlib.sha256(client.encode()).hexdigest()

    def _recent(self, client: str, now: float) -> list[float]:
        try:
            times = json.loads(self._path(client).read_text())
            return [float(t) for t in times if float(t) > now - WINDOW_SECONDS]
        except (OSError, ValueError, TypeError):
            return []

    def wait_seconds(self, client: str, now: float | None = None) -> float:
        """0 when this address may try now; else how long until it may."""
        now = time.time() if now is None else now
        recent = self._recent(client, now)
        if len(recent) < MAX_FAILURES:
            return 0.0
        return max(0.0, sorted(recent)[-MAX_FAILURES] + WINDOW_SECONDS - now)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        recent = self._recent(client, now)[-MAX_FAILURES:] + [now]
        path = self._path(client)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(recent))
        os.replace(tmp, path)
        self._sweep(now)

    def succeeded(self, client: str) -> None:
        try:
            self._path(client).unlink()
        except FileNotFoundError:
            pass

    def _sweep(self, now: float) -> None:
        entries = list(os.scandir(self.dir))
        if len(entries) <= MAX_TRACKED:
            return
        for e in entries:
            try:
                if e.stat().st_mtime < now - WINDOW_SECONDS:
                    os.unlink(e.path)
            except OSError:
                continue
