"""Failed sign-ins, counted per client: after MAX_FAILURES within WINDOW_SECONDS, sign-in waits.

A client is its IPv4 address, or its IPv6 address's /64 (IPV6_HOST_PREFIX): one host usually has a whole /64 and
could give every try an address of its own. The count lives in DATA/console/failures/ (one small file per client,
named by its SHA-256) so that every worker process sees the same count: spreading tries over the workers gains an
attacker nothing. Two workers recording a failure at the same instant may count it once; the limit holds within
that. A successful sign-in clears only the failures that named its own access key: one's own keys buy no more
guesses at another user's secret.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import time
from pathlib import Path

MAX_FAILURES = 5
WINDOW_SECONDS = 60.0
MAX_TRACKED = 10_000  # client files kept at most; beyond it, those idle for a window are removed
FAILURES_DIR = Path("console") / "failures"
IPV6_HOST_PREFIX = 64
KEY_TAG_CHARS = 16  # a failure names its access key by this much of the key's SHA-256 (never the key itself)

Failure = tuple[float, str]  # (when, tag of the access key tried)


def client_key(peer: str) -> str:
    """What failures are counted by: an IPv4 address, an IPv6 /64, or the peer's name as given."""
    try:
        ip = ipaddress.ip_address(peer.split("%", 1)[0])  # without an IPv6 zone ("fe80::1%eth0")
    except ValueError:
        return peer
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_HOST_PREFIX), strict=False))
    return str(ip)


def _tag(access_key: str) -> str:
    return hashlib.sha256(access_key.encode("utf-8", "replace")).hexdigest()[:KEY_TAG_CHARS]


class SignInLimiter:
    def __init__(self, data: Path) -> None:
        self.dir = data / FAILURES_DIR

    def _path(self, client: str) -> Path:
        return self.dir / hashlib.sha256(client_key(client).encode("utf-8", "replace")).hexdigest()

    def _read(self, client: str) -> list[Failure]:
        try:
            raw = json.loads(self._path(client).read_text())
            return [(float(t), str(tag)) for t, tag in raw]
        except (OSError, ValueError, TypeError):
            return []

    def _write(self, client: str, failures: list[Failure]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(client)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(failures))
        os.replace(tmp, path)

    def _recent(self, client: str, now: float) -> list[Failure]:
        return [f for f in self._read(client) if f[0] > now - WINDOW_SECONDS]

    def wait_seconds(self, client: str, now: float | None = None) -> float:
        """0 when this client may try now; else how long until it may."""
        now = time.time() if now is None else now
        recent = sorted(t for t, _ in self._recent(client, now))
        if len(recent) < MAX_FAILURES:
            return 0.0
        return max(0.0, recent[-MAX_FAILURES] + WINDOW_SECONDS - now)

    def failed(self, client: str, access_key: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._write(client, self._recent(client, now)[-MAX_FAILURES:] + [(now, _tag(access_key))])
        self._sweep(now)

    def succeeded(self, client: str, access_key: str) -> None:
        """Forget this client's failed tries of the access key that just signed in (not those of others)."""
        failures = self._read(client)
        kept = [f for f in failures if f[1] != _tag(access_key)]
        if len(kept) == len(failures):
            return
        if kept:
            self._write(client, kept)
            return
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
