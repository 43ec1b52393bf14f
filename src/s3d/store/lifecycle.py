"""Lifecycle rules: what they match, when they expire a version, and the background scanner that acts.

A bucket's rules are the ``lifecycle`` entry of its config, as the S3 layer parsed and checked them
(``s3/handlers/lifecycle.py``): a list of ``Rule.to_json()`` dicts. A "day" is ``day_seconds``
(the ``lifecycle_day_seconds`` setting, 86400 unless shortened for tests); a time reached after N days
is rounded up to the next day boundary, as S3 rounds to the next midnight UTC.

The scanner runs in one process. Every action is an ordinary journaled mutation (a delete, a delete
marker, removing a version, aborting an upload), committed in small batches with a pause between
them so a scan never starves requests. Each action re-checks, in its own transaction, that the
version it acts on is still the one it judged; so a scan killed at any point leaves every key whole,
and the next scan (at start and then every ``scan_every`` seconds) takes up what is left.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from s3d.store import buckets, journal, locks, objects, uploads, versions
from s3d.store.errors import StoreError
from s3d.store.multipart import Multipart
from s3d.store.store import Store

log = logging.getLogger("s3d.lifecycle")

LIFECYCLE = "lifecycle"  # the bucket config entry
ENABLED = "Enabled"
DEFAULT_DAY_SECONDS = 86400.0
BATCH = 64  # actions per transaction
PAGE = 256  # rows read per query
PAUSE = 0.05  # seconds between batches: requests go first
SCAN_EVERY_DAYS = 1 / 8  # a scan per eighth of a day...
MIN_SCAN_EVERY, MAX_SCAN_EVERY = 0.25, 3600.0  # ...within these bounds (seconds)


@dataclass(slots=True)
class Filter:
    prefix: str = ""
    tags: list[tuple[str, str]] = field(default_factory=list)
    size_gt: int | None = None
    size_lt: int | None = None

    def matches(self, key: bytes, size: int, tags: list[tuple[str, str]] | None) -> bool:
        if not key.startswith(self.prefix.encode()):
            return False
        if self.size_gt is not None and not size > self.size_gt:
            return False
        if self.size_lt is not None and not size < self.size_lt:
            return False
        have = set(tags or [])
        return all(t in have for t in self.tags)


@dataclass(slots=True)
class Rule:
    id: str
    enabled: bool
    filter: Filter
    legacy_prefix: bool = False  # the rule used the old top-level Prefix instead of a Filter
    filter_form: str = "prefix"  # prefix | tag | gt | lt | and: how the Filter was written
    expire_days: int | None = None
    expire_date: float | None = None
    expire_markers: bool | None = None  # ExpiredObjectDeleteMarker
    noncurrent_days: int | None = None
    newer_noncurrent: int | None = None
    abort_days: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "enabled": self.enabled, "prefix": self.filter.prefix, "tags": self.filter.tags,
            "gt": self.filter.size_gt, "lt": self.filter.size_lt, "legacy": self.legacy_prefix,
            "form": self.filter_form, "days": self.expire_days, "date": self.expire_date,
            "markers": self.expire_markers, "nc_days": self.noncurrent_days, "nc_newer": self.newer_noncurrent,
            "abort": self.abort_days,
        }  # fmt: skip

    @staticmethod
    def from_json(d: dict[str, Any]) -> Rule:
        return Rule(
            id=d["id"], enabled=d["enabled"],
            filter=Filter(d["prefix"], [(t[0], t[1]) for t in d["tags"]], d["gt"], d["lt"]),
            legacy_prefix=d["legacy"], filter_form=d["form"], expire_days=d["days"], expire_date=d["date"],
            expire_markers=d["markers"], noncurrent_days=d["nc_days"], newer_noncurrent=d["nc_newer"],
            abort_days=d["abort"],
        )  # fmt: skip


def rules_of(config: dict[str, Any]) -> list[Rule]:
    return [Rule.from_json(r) for r in config.get(LIFECYCLE) or []]


def after_days(start: float, days: int, day_seconds: float) -> float:
    """``days`` days after ``start``, rounded up to the next day boundary; math.inf if no float holds it."""
    try:
        return math.ceil((start + days * day_seconds) / day_seconds) * day_seconds
    except OverflowError:
        return math.inf


def expiration(rules: list[Rule], obj: objects.Object, day_seconds: float) -> tuple[float, str] | None:
    """When an enabled rule's Expiration expires this current object, and which rule: the earliest.

    A time past year 9999 (Days up to 2**31 - 1 are S3's to accept) never comes; it is answered as
    dates.LAST_DATE (store/dates.py).
    """
    best: tuple[float, str] | None = None
    for r in rules:
        if not r.enabled or not r.filter.matches(obj.key, obj.size, obj.tags):
            continue
        at = None
        if r.expire_days is not None:
            at = after_days(obj.mtime, r.expire_days, day_seconds)
        elif r.expire_date is not None:
            at = r.expire_date
        if at is not None and (best is None or at < best[0]):
            best = (at, r.id)
    return best


def abort_date(rules: list[Rule], key: bytes, initiated: float, day_seconds: float) -> tuple[float, str] | None:
    """When an enabled rule's AbortIncompleteMultipartUpload aborts an upload of ``key``, and which rule (a time
    past year 9999 never comes: store/dates.py)."""
    best: tuple[float, str] | None = None
    for r in rules:
        if not r.enabled or r.abort_days is None or not key.startswith(r.filter.prefix.encode()):
            continue
        at = after_days(initiated, r.abort_days, day_seconds)
        if best is None or at < best[0]:
            best = (at, r.id)
    return best


# ---------- the scanner ----------
Action = Callable[[sqlite3.Connection], list[str]]  # runs in a transaction; returns blobs to unlink


class Scanner:
    def __init__(self, store: Store, day_seconds: float = DEFAULT_DAY_SECONDS) -> None:
        self.store = store
        self.day = day_seconds
        self.every = min(MAX_SCAN_EVERY, max(MIN_SCAN_EVERY, day_seconds * SCAN_EVERY_DAYS))
        self.actions = 0  # taken since start

    async def run(self) -> None:
        """Scan at start and then every ``every`` seconds, until cancelled."""
        while True:
            try:
                await self.scan()
            except (StoreError, sqlite3.Error) as e:
                log.warning("lifecycle scan stopped early: %s (the next scan resumes)", e)
            await asyncio.sleep(self.every)

    async def scan(self) -> int:
        """One pass over every bucket with rules; the number of actions taken."""
        done = 0
        for b in self.store.list_buckets():
            rules = [r for r in rules_of(b.config) if r.enabled]
            if rules:
                done += await self._bucket(b.name, rules)
        self.actions += done
        return done

    async def _bucket(self, bucket: str, rules: list[Rule]) -> int:
        pending: list[Action] = []
        done = 0

        async def act(action: Action | None) -> None:
            nonlocal done
            if action is not None:
                pending.append(action)
            if len(pending) >= BATCH or (action is None and pending):
                done += await self._commit(pending)
                pending.clear()
                await asyncio.sleep(PAUSE)

        now = time.time()
        if any(r.expire_days is not None or r.expire_date is not None for r in rules):
            async for obj in self._current(bucket):
                hit = expiration(rules, obj, self.day)
                if hit is not None and hit[0] <= now:
                    await act(self._expire_current(obj))
        if any(r.noncurrent_days is not None or r.expire_markers for r in rules):
            async for history in self._histories(bucket):
                for action in self._judge_history(history, rules, now):
                    await act(action)
        if any(r.abort_days is not None for r in rules):
            for u in uploads.in_bucket_from(self.store.reader, bucket, b""):
                for r in rules:
                    if r.abort_days is None or not u.key.startswith(r.filter.prefix.encode()):
                        continue
                    if after_days(u.initiated, r.abort_days, self.day) <= now:
                        try:
                            await Multipart(self.store).abort(u.upload_id, bucket, u.key)
                            done += 1
                        except StoreError:
                            pass  # completed or aborted meanwhile
                        break
        await act(None)
        return done

    async def _commit(self, actions: list[Action]) -> int:
        def op(conn: sqlite3.Connection) -> list[str]:
            gone: list[str] = []
            for a in actions:
                gone += a(conn)
            return gone

        self.store.blobs.remove(await self.store.committer.run(op))
        return len(actions)

    async def _current(self, bucket: str) -> AsyncIterator[objects.Object]:
        after = b""
        while True:
            rows = self.store.reader.execute(
                f"SELECT {objects.COLUMNS} FROM objects WHERE bucket=? AND key>? ORDER BY key LIMIT ?",
                (bucket, after, PAGE),
            ).fetchall()
            for row in rows:
                yield objects.from_row(row)
            if len(rows) < PAGE:
                return
            after = rows[-1][1]
            await asyncio.sleep(0)

    async def _histories(self, bucket: str) -> AsyncIterator[list[versions.Version]]:
        """Each key with noncurrent versions: all its versions, newest first (the current one included)."""
        after = b""
        while True:
            keys = [
                k
                for (k,) in self.store.reader.execute(
                    "SELECT DISTINCT key FROM versions WHERE bucket=? AND key>? ORDER BY key LIMIT ?",
                    (bucket, after, PAGE),
                )
            ]
            for key in keys:
                history: list[versions.Version] = []
                cur = objects.get(self.store.reader, bucket, key)
                if cur is not None:
                    history.append(versions.Version(cur, latest=True))
                history += versions.all_of(self.store.reader, bucket, key)
                yield history
            if len(keys) < PAGE:
                return
            after = keys[-1]
            await asyncio.sleep(0)

    def _expire_current(self, obj: objects.Object) -> Action:
        """Expiration of a current object: deleted, or (versioned bucket) a delete marker on top."""

        def action(conn: sqlite3.Connection) -> list[str]:
            now_row = objects.get(conn, obj.bucket, obj.key)
            if now_row is None or now_row.version != obj.version:
                return []  # written or deleted since it was judged
            state = buckets.versioning(conn, obj.bucket)
            if state is not None:
                return versions.delete_current(conn, obj.bucket, obj.key, state).blobs
            objects.delete(conn, obj.bucket, obj.key)
            journal.append(conn, journal.Op.DELETE, obj.bucket, obj.key)
            return objects.replaced_blobs(objects.Current(now_row.etag, now_row.blobs(), now_row.is_remote), None)

        return action

    def _judge_history(self, history: list[versions.Version], rules: list[Rule], now: float) -> list[Action]:
        out: list[Action] = []
        noncurrent_index = 0
        for i, v in enumerate(history):
            if i == 0:
                continue  # the newest version is never noncurrent
            if v.marker:
                continue
            since = history[i - 1].obj.mtime  # noncurrent from when the next newer version was made
            for r in rules:
                if r.noncurrent_days is None or not r.filter.matches(v.obj.key, v.obj.size, v.obj.tags):
                    continue
                if r.newer_noncurrent is not None and noncurrent_index < r.newer_noncurrent:
                    continue
                if after_days(since, r.noncurrent_days, self.day) <= now and not locks.is_locked(v.obj.meta, now):
                    out.append(self._remove_version(v))
                    break
            noncurrent_index += 1
        top = history[0]
        if top.marker and len(history) == 1:
            for r in rules:
                if r.expire_markers and r.filter.matches(top.obj.key, 0, None):
                    out.append(self._remove_version(top, only_marker=True))
                    break
        return out

    def _remove_version(self, v: versions.Version, only_marker: bool = False) -> Action:
        def action(conn: sqlite3.Connection) -> list[str]:
            now_v = versions.get(conn, v.obj.bucket, v.obj.key, v.obj.version_id)
            if now_v is None or now_v.obj.version != v.obj.version or locks.is_locked(now_v.obj.meta):
                return []
            if only_marker and (
                objects.get(conn, v.obj.bucket, v.obj.key) is not None
                or len(versions.all_of(conn, v.obj.bucket, v.obj.key)) != 1
            ):
                return []  # no longer an expired delete marker
            return versions.delete_version(conn, v.obj.bucket, v.obj.key, v.obj.version_id).blobs

        return action
