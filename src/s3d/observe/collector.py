"""Gauges read from the store at scrape time: journal LSN, disk free and, in gateway mode, HWM and lag.

They are the store's truth shared by every process (the SQLite file), so the
worker answering the scrape reads them when asked instead of each process
pushing copies that could disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from s3d.observe.gauges import GatewayGauges, PoolGauges, StoreGauges


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("s3d")
    except PackageNotFoundError:
        return "unknown"


VERSION = _version()


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class StoreCollector(Collector):
    """Yields the gauges that ``read`` takes from the store at scrape time (admin/gauges.py)."""

    def __init__(self, read: Callable[[], StoreGauges]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        g = self.read()
        info = GaugeMetricFamily("s3d_info", "s3d's version and mode (always 1).", labels=["version", "mode"])
        info.add_metric([VERSION, "local" if g.gateway is None else "gateway"], 1)
        yield info
        yield _gauge("s3d_journal_lsn", "The journal's newest log sequence number.", g.lsn)
        yield _gauge(
            "s3d_disk_free_bytes", "Free space on the data dir's filesystem (for this user).", g.disk_free_bytes
        )
        if g.gateway is not None:
            yield from self._gateway(g.gateway)
        if g.pool is not None:
            yield from self._pool(g.pool)

    def _pool(self, p: PoolGauges) -> Iterator[Metric]:
        yield _gauge("s3d_pool_drives", "Drives of the erasure-coded pool.", p.drives)
        yield _gauge("s3d_pool_drives_in_service", "Drives of the pool in service.", p.drives_in_service)
        yield _gauge(
            "s3d_pool_degraded", "1 while a drive is out of service or blobs wait for healing.", int(p.degraded)
        )
        yield _gauge("s3d_pool_heal_queue", "Blobs queued for healing.", p.heal_queue)
        yield _gauge(
            "s3d_pool_damaged_shards", "Shards found missing or damaged since the daemon started.", p.damaged_shards
        )
        yield _gauge("s3d_pool_healed_shards", "Shards rebuilt since the daemon started.", p.healed_shards)
        yield _gauge("s3d_pool_lost_blobs", "Blobs too damaged to rebuild.", p.lost_blobs)
        yield _gauge("s3d_pool_scrub_passes", "Full scrub passes finished since the daemon started.", p.scrub_passes)

    def _gateway(self, g: GatewayGauges) -> Iterator[Metric]:
        yield _gauge(
            "s3d_remote_hwm", "Remote high-water mark: every journal record at or below it is on the remote.", g.hwm
        )
        yield _gauge("s3d_queue_pending_records", "Journal records not yet applied on the remote.", g.pending_records)
        yield _gauge(
            "s3d_queue_pending_bytes", "Bytes of the journal records not yet applied on the remote.", g.pending_bytes
        )
        yield _gauge(
            "s3d_queue_oldest_age_seconds", "Age of the oldest record not yet applied on the remote.", g.oldest_age_s
        )
        yield _gauge(
            "s3d_queue_failed_records",
            "Keys the remote keeps rejecting (retried slowly; see /_s3d/queue).",
            g.failed_records,
        )
        yield _gauge("s3d_remote_up", "1 when the remote S3 answered the last call, else 0.", 1 if g.remote_up else 0)
        yield _gauge(
            "s3d_dirty_bytes",
            "Local bytes not yet on the remote (unshipped writes, unfinished uploads).",
            g.dirty_bytes,
        )
        yield _gauge("s3d_cache_bytes", "Clean bytes held by the local read cache.", g.cache_bytes)
        yield _gauge(
            "s3d_cache_capacity_bytes",
            "Local capacity, shared by unshipped data and the read cache.",
            g.cache_capacity_bytes,
        )
        yield _gauge("s3d_pinned_bytes", "Bytes of the read cache pinned against eviction.", g.pinned_bytes)
        for what in ("filter", "tag"):
            whom = "the upload filter" if what == "filter" else "the tag s3d.upload=false"
            yield _gauge(
                f"s3d_held_by_{what}_objects", f"Objects kept local only by {whom}.", g.held[f"held_by_{what}_objects"]
            )
            yield _gauge(
                f"s3d_held_by_{what}_bytes",
                f"Bytes of the objects kept local only by {whom}.",
                g.held[f"held_by_{what}_bytes"],
            )
