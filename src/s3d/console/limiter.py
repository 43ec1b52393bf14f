"""Failed sign-ins, counted per client address: after MAX_FAILURES within WINDOW_SECONDS, sign-in waits."""

from __future__ import annotations

import time
from collections import deque

MAX_FAILURES = 5
WINDOW_SECONDS = 60.0
MAX_TRACKED = 10_000  # addresses remembered at most (the oldest is forgotten first)


class SignInLimiter:
    """Per worker process: with N workers an address gets at most N * MAX_FAILURES tries per window."""

    def __init__(self) -> None:
        self.failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        q = self.failures.get(client)
        if q is None:
            if len(self.failures) >= MAX_TRACKED:
                self.failures.pop(next(iter(self.failures)))
            q = self.failures[client] = deque()
        while q and q[0] <= now - WINDOW_SECONDS:
            q.popleft()
        return q

    def wait_seconds(self, client: str, now: float | None = None) -> float:
        """0 when this address may try now; else how long until it may."""
        now = time.monotonic() if now is None else now
        q = self._recent(client, now)
        if len(q) < MAX_FAILURES:
            return 0.0
        return max(0.0, q[0] + WINDOW_SECONDS - now)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._recent(client, now).append(now)

    def succeeded(self, client: str) -> None:
        self.failures.pop(client, None)
