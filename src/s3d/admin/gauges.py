"""The gauges /metrics reads from the store at scrape time (the store's truth, shared by every process)."""

from __future__ import annotations

import os
import time

from s3d.gateway.namespace import GatewayNamespace
from s3d.observe.gauges import GatewayGauges, PoolGauges, StoreGauges
from s3d.store import journal, ship_state, state
from s3d.store.erasure.drives import DriveState
from s3d.store.erasure.service import read_status
from s3d.store.store import Store


def read(store: Store, gateway: GatewayNamespace | None) -> StoreGauges:
    conn = store.reader
    st = os.statvfs(store.root)
    out = StoreGauges(lsn=journal.current_lsn(conn), disk_free_bytes=st.f_bavail * st.f_frsize)
    out.pool = _pool(store)
    if gateway is None:
        return out
    lag = journal.lag(conn)
    cache = gateway.cache_status()
    out.gateway = GatewayGauges(
        hwm=state.hwm(conn),
        pending_records=lag.records,
        pending_bytes=lag.bytes,
        oldest_age_s=max(0.0, time.time() - lag.oldest_ts) if lag.oldest_ts else 0.0,
        failed_records=ship_state.failed_count(conn),
        remote_up=bool(state.get(conn, state.REMOTE_REACHABLE)),
        dirty_bytes=int(cache["dirty_bytes"]),
        cache_bytes=int(cache["cache_bytes"]),
        cache_capacity_bytes=int(cache["cache_capacity_bytes"]),
        pinned_bytes=int(cache["pinned_bytes"]),
        held=ship_state.held_summary(conn),
    )
    return out


def _pool(store: Store) -> PoolGauges | None:
    """From the status the pool's healer keeps in the data dir (None without a pool)."""
    if store.blobs.by_fd:
        return None
    doc = read_status(store.root)
    if doc is None:
        return None
    drives = doc["drives"]
    return PoolGauges(
        drives=len(drives),
        drives_in_service=sum(d["state"] == DriveState.OK for d in drives),
        degraded=bool(doc["degraded"]),
        heal_queue=int(doc["queued"]),
        damaged_shards=int(doc["heal"]["damaged_shards"]),
        healed_shards=int(doc["heal"]["healed_shards"]),
        lost_blobs=len(doc["heal"]["lost_blobs"]),
        scrub_passes=int(doc["scrub"]["passes"]),
    )
