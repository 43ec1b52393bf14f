"""The counters and histograms every s3d process moves (prometheus_client).

With ``PROMETHEUS_MULTIPROC_DIR`` set (the daemon sets it to a directory in /dev/shm before
forking, see setup.py) each process writes its values to files there and the
worker answering a scrape adds them all up (exposition.py). Gauges that describe
the store (LSN, HWM, lag, disk) are not here: they are read at scrape time
(collector.py).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from s3d.observe import RequestRecord, events

DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        # Without multi-process mode this registry is what /metrics shows; with it, the values
        # live in files and this registry is not read.
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "s3d_requests", "Requests answered, by S3 operation and HTTP status.", ["operation", "status"], registry=r
        )
        self.duration = Histogram(
            "s3d_request_duration_seconds",
            "Time from a request's headers to its response (before the body is sent), by operation.",
            ["operation"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.received = Counter("s3d_received_bytes", "Request body bytes received.", registry=r)
        self.sent = Counter("s3d_sent_bytes", "Response body bytes sent (as announced by the response).", registry=r)
        self.remote_requests = Counter(
            "s3d_remote_requests", "Calls made to the remote S3, by operation.", ["operation"], registry=r
        )
        self.remote_errors = Counter(
            "s3d_remote_errors", "Failed calls to the remote S3, by error code.", ["code"], registry=r
        )
        self.remote_duration = Histogram(
            "s3d_remote_request_duration_seconds",
            "Duration of calls to the remote S3, by operation.",
            ["operation"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.cache_hits = Counter("s3d_cache_hits", "Reads served from the local read cache.", registry=r)
        self.cache_misses = Counter("s3d_cache_misses", "Reads the local read cache could not serve.", registry=r)
        self.cache_evictions = Counter("s3d_cache_evictions", "Entries evicted from the local read cache.", registry=r)
        self.cache_evicted_bytes = Counter(
            "s3d_cache_evicted_bytes", "Bytes evicted from the local read cache.", registry=r
        )
        self.events = Counter("s3d_events", "Shipper and cache events, by name.", ["event"], registry=r)
        self._event_counters: dict[str, Counter] = {}
        self._request_counters: dict[tuple[str, int], Counter] = {}
        self._durations: dict[str, Histogram] = {}
        # unlabelled counters exist (at 0) from the start; touch them so every process's file has them
        for c in (self.received, self.sent, self.cache_hits, self.cache_misses, self.cache_evictions):
            c.inc(0)
        self.cache_evicted_bytes.inc(0)

    def request(self, rec: RequestRecord) -> None:
        op = rec.operation
        counter = self._request_counters.get((op, rec.status))
        if counter is None:  # labels() takes a lock and builds a key: once per operation and status
            counter = self._request_counters[(op, rec.status)] = self.requests.labels(op, str(rec.status))
        counter.inc()
        histogram = self._durations.get(op)
        if histogram is None:
            histogram = self._durations[op] = self.duration.labels(op)
        histogram.observe(rec.duration_s)
        if rec.bytes_in:
            self.received.inc(rec.bytes_in)
        if rec.bytes_out:
            self.sent.inc(rec.bytes_out)

    def remote_call(self, operation: str, error_code: str | None, duration_s: float) -> None:
        self.remote_requests.labels(operation).inc()
        self.remote_duration.labels(operation).observe(duration_s)
        if error_code is not None:
            self.remote_errors.labels(error_code).inc()

    def event(self, name: str, fields: dict[str, object]) -> None:
        counter = self._event_counters.get(name)
        if counter is None:  # labels() takes a lock and builds a key: once per event name, not per event
            counter = self._event_counters[name] = self.events.labels(name)
        counter.inc()
        if name == events.CACHE_HIT:
            self.cache_hits.inc()
        elif name == events.CACHE_MISS:
            self.cache_misses.inc()
        elif name == events.CACHE_EVICT:
            self.cache_evictions.inc(_number(fields.get("entries", fields.get("count")), 1))
            self.cache_evicted_bytes.inc(_number(fields.get("bytes"), 0))


def _number(v: object, default: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return default
    return float(v) if v >= 0 else default


_metrics: Metrics | None = None


def get() -> Metrics:
    """This process's metrics (made once: prometheus_client objects must not be made twice)."""
    global _metrics
    if _metrics is None:
        _metrics = Metrics()
    return _metrics
