"""Object lock: a version's retention and legal hold, and the rules that protect a locked version.

Retention and legal hold belong to one version; they are kept in its metadata under s3d's own
names (``x-s3d-*``: never answered as headers, never shipped). A bucket's lock configuration is the
``object_lock`` entry of its config: ``{"mode": ..., "days": n}`` or ``{"mode": ..., "years": n}``
for a default retention, ``{}`` for lock enabled without one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from s3d.store import dates
from s3d.store.errors import ObjectLocked

GOVERNANCE = "GOVERNANCE"
COMPLIANCE = "COMPLIANCE"
MODES = (GOVERNANCE, COMPLIANCE)
MODE_META = "x-s3d-lock-mode"
UNTIL_META = "x-s3d-lock-until"  # seconds since the epoch
HOLD_META = "x-s3d-legal-hold"
HOLD_ON = "ON"
HOLD_OFF = "OFF"
LOCK_CONFIG = "object_lock"
DAY = 86400
YEAR_DAYS = 365


@dataclass(frozen=True, slots=True)
class Retention:
    mode: str
    until: float

    def in_force(self, now: float) -> bool:
        return self.until > now

    @property
    def until_iso(self) -> str:
        d = datetime.fromtimestamp(self.until, tz=UTC)
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def retention_of(meta: dict[str, str]) -> Retention | None:
    """A version's retention; one stored past year 9999 (by a default retention before its 100-year bound)
    holds until dates.LAST_DATE."""
    mode = meta.get(MODE_META)
    until = meta.get(UNTIL_META)
    return Retention(mode, dates.writable(float(until))) if mode and until else None


def legal_hold(meta: dict[str, str]) -> bool:
    return meta.get(HOLD_META) == HOLD_ON


def with_retention(meta: dict[str, str], r: Retention | None) -> dict[str, str]:
    out = {k: v for k, v in meta.items() if k not in (MODE_META, UNTIL_META)}
    if r is not None:
        out[MODE_META], out[UNTIL_META] = r.mode, repr(r.until)
    return out


def with_legal_hold(meta: dict[str, str], on: bool) -> dict[str, str]:
    return {**meta, HOLD_META: HOLD_ON if on else HOLD_OFF}


def without_lock(meta: dict[str, str]) -> dict[str, str]:
    """A version's metadata minus its lock (a copy gets the lock its own request or bucket gives it)."""
    return {k: v for k, v in meta.items() if k not in (MODE_META, UNTIL_META, HOLD_META)}


def has_lock(meta: dict[str, str]) -> bool:
    """Whether a version's metadata holds a retention or a legal hold."""
    return MODE_META in meta or HOLD_META in meta


def has_default(bucket_config: dict[str, Any]) -> bool:
    """Whether a bucket gives new versions a default retention."""
    rule = bucket_config.get(LOCK_CONFIG)
    return isinstance(rule, dict) and "mode" in rule


def default_retention(rule: dict[str, Any] | None, now: float) -> Retention | None:
    """The retention a bucket's default gives a version written at ``now``: past year 9999 (a rule stored
    before the 100-year bound), until dates.LAST_DATE."""
    if not rule or "mode" not in rule:
        return None
    days = int(rule.get("days") or 0) + YEAR_DAYS * int(rule.get("years") or 0)
    return Retention(str(rule["mode"]), dates.writable(dates.later(now, days * DAY)))


def apply_default(meta: dict[str, str], rule: dict[str, Any] | None, now: float) -> None:
    """A new version without a retention of its own gets the bucket's default retention."""
    if MODE_META in meta:
        return
    r = default_retention(rule, now)
    if r is not None:
        meta[MODE_META], meta[UNTIL_META] = r.mode, repr(r.until)


def is_locked(meta: dict[str, str], now: float | None = None) -> bool:
    r = retention_of(meta)
    return legal_hold(meta) or (r is not None and r.in_force(time.time() if now is None else now))


def check_delete(meta: dict[str, str], bypass_governance: bool, now: float | None = None) -> None:
    """A version under legal hold, COMPLIANCE retention or (without bypass) GOVERNANCE retention stays."""
    now = time.time() if now is None else now
    if legal_hold(meta):
        raise ObjectLocked("the version is under a legal hold")
    r = retention_of(meta)
    if r is None or not r.in_force(now):
        return
    if r.mode == COMPLIANCE or not bypass_governance:
        raise ObjectLocked(f"the version is under {r.mode} retention")


def check_retention_change(
    old: Retention | None, new: Retention | None, bypass_governance: bool, now: float | None = None
) -> None:
    """COMPLIANCE only ever extends; GOVERNANCE shortens, changes mode or goes only with the bypass."""
    now = time.time() if now is None else now
    if old is None or not old.in_force(now):
        return
    extends = new is not None and new.until >= old.until and new.mode in (old.mode, COMPLIANCE)
    if extends:
        return
    if old.mode == COMPLIANCE or not bypass_governance:
        raise ObjectLocked(f"the version's {old.mode} retention may only be extended")
