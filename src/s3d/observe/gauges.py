"""The gauges /metrics reports from the store's state (filled in by admin/gauges.py, rendered by collector.py).

No prometheus_client here: importing it before the multi-process directory is set would fix its
value class for good, so only code that runs at scrape time imports the collector.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class GatewayGauges:
    hwm: int
    pending_records: int
    pending_bytes: int
    oldest_age_s: float
    failed_records: int
    remote_up: bool
    dirty_bytes: int
    cache_bytes: int
    cache_capacity_bytes: int
    pinned_bytes: int
    held: dict[str, int]  # held_by_{filter,tag}_{objects,bytes}: kept local only by policy


@dataclass(slots=True)
class PoolGauges:
    """An erasure-coded pool's state, as its healer last wrote it (docs/erasure.md)."""

    drives: int
    drives_in_service: int
    degraded: bool
    heal_queue: int
    damaged_shards: int
    healed_shards: int
    lost_blobs: int
    scrub_passes: int


@dataclass(slots=True)
class StoreGauges:
    lsn: int
    disk_free_bytes: int
    gateway: GatewayGauges | None = None
    pool: PoolGauges | None = None
