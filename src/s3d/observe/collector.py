"""Gauges read from the store at scrape time: journal LSN, disk free and, in gateway mode, HWM and lag.

They are the store's truth shared by every process (the SQLite file), so the
worker answering the scrape reads them when asked instead of each process
pushing copies that could disagree.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from s3d.filters.gateway import held_summary
from s3d.observe import events


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("s3d")
    except PackageNotFoundError:
        return "unknown"


VERSION = _version()


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _state(conn: sqlite3.Connection, name: str) -> Any:
    row = conn.execute("SELECT value FROM state WHERE name=?", (name,)).fetchone()
    return None if row is None else row[0]


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


class StoreCollector(Collector):
    def __init__(self, store: Any, gateway: Any = None) -> None:
        self.store = store  # a Store (or GatewayStore): its reader connection and root
        self.gateway = gateway  # GatewaySettings, or None in local mode

    def collect(self) -> Iterator[Metric]:
        conn: sqlite3.Connection = self.store.reader
        info = GaugeMetricFamily("s3d_info", "s3d's version and mode (always 1).", labels=["version", "mode"])
        info.add_metric([VERSION, "local" if self.gateway is None else "gateway"], 1)
        yield info
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='journal'").fetchone()
        yield _gauge("s3d_journal_lsn", "The journal's newest log sequence number.", row[0] if row else 0)
        st = os.statvfs(self.store.root)
        yield _gauge(
            "s3d_disk_free_bytes", "Free space on the data dir's filesystem (for this user).", st.f_bavail * st.f_frsize
        )
        if self.gateway is not None:
            yield from self._gateway(conn)

    def _gateway(self, conn: sqlite3.Connection) -> Iterator[Metric]:
        yield _gauge(
            "s3d_remote_hwm",
            "Remote high-water mark: every journal record at or below it is on the remote.",
            int(_state(conn, "hwm") or 0),
        )
        # the journal holds exactly the records not yet applied remotely
        n, size, oldest = conn.execute("SELECT count(*), coalesce(sum(size), 0), min(ts) FROM journal").fetchone()
        yield _gauge("s3d_queue_pending_records", "Journal records not yet applied on the remote.", n)
        yield _gauge("s3d_queue_pending_bytes", "Bytes of the journal records not yet applied on the remote.", size)
        age = max(0.0, time.time() - oldest) if oldest else 0.0
        yield _gauge("s3d_queue_oldest_age_seconds", "Age of the oldest record not yet applied on the remote.", age)
        failed = 0
        if _has_table(conn, "ship_state"):
            failed = conn.execute("SELECT count(*) FROM ship_state WHERE error IS NOT NULL").fetchone()[0]
        yield _gauge(
            "s3d_queue_failed_records", "Keys the remote keeps rejecting (retried slowly; see /_s3d/queue).", failed
        )
        reachable = _state(conn, "remote_reachable")
        yield _gauge("s3d_remote_up", "1 when the remote S3 answered the last call, else 0.", 1 if reachable else 0)
        cache = self._cache(conn)
        yield _gauge(
            "s3d_dirty_bytes",
            "Local bytes not yet on the remote (unshipped writes, unfinished uploads).",
            cache["dirty_bytes"],
        )
        yield _gauge("s3d_cache_bytes", "Clean bytes held by the local read cache.", cache["cache_bytes"])
        yield _gauge(
            "s3d_cache_capacity_bytes",
            "Local capacity, shared by unshipped data and the read cache.",
            cache["cache_capacity_bytes"],
        )
        yield _gauge("s3d_pinned_bytes", "Bytes of the read cache pinned against eviction.", cache["pinned_bytes"])
        if _has_table(conn, "ship_state"):
            held = held_summary(conn)
            for what in ("filter", "tag"):
                whom = "the upload filter" if what == "filter" else "the tag s3d.upload=false"
                yield _gauge(f"s3d_held_by_{what}_objects", f"Objects kept local only by {whom}.",
                             held[f"held_by_{what}_objects"])  # fmt: skip
                yield _gauge(f"s3d_held_by_{what}_bytes", f"Bytes of the objects kept local only by {whom}.",
                             held[f"held_by_{what}_bytes"])  # fmt: skip

    def _cache(self, conn: sqlite3.Connection) -> dict[str, int]:
        """The read cache's own account (GatewayStore.cache_status) when the store has one, else the state rows."""
        status = getattr(self.store, "cache_status", None)
        got: dict[str, Any] = dict(status()) if callable(status) else {}
        out = {}
        for name, default in (
            ("dirty_bytes", _state(conn, "dirty_bytes")),
            (events.STATE_CACHE_BYTES, _state(conn, events.STATE_CACHE_BYTES)),
            (
                events.STATE_CACHE_CAPACITY,
                _state(conn, events.STATE_CACHE_CAPACITY) or getattr(self.gateway, "capacity", 0),
            ),
            (events.STATE_PINNED_BYTES, _state(conn, events.STATE_PINNED_BYTES)),
        ):
            v = got.get(name, default)
            out[name] = int(v) if isinstance(v, int | float) else 0
        return out
