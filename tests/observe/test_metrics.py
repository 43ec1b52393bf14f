"""GET /metrics on real daemons (2 worker processes): counters add up across processes; lag follows the remote."""

from __future__ import annotations

import urllib.error
import urllib.request

from tests.observe.scrape import Samples, fetch, scrape, total, value, wait_for
from tests.support.server import S3dProcess

ANON_REQUESTS_MAX = 400


def _anonymous_get(endpoint: str, path: str) -> str:
    """One unsigned GET on a connection of its own; returns the id of the worker that answered."""
    req = urllib.request.Request(endpoint + path, headers={"Connection": "close"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            rid = r.headers["x-amz-request-id"]
    except urllib.error.HTTPError as e:
        rid = e.headers["x-amz-request-id"]
    return str(rid)[:4]  # the answering process's pid, as the request id starts with it


def test_metrics_is_open_and_prometheus_text(server: S3dProcess) -> None:
    status, text = fetch(server.endpoint)
    assert status == 200
    assert "# TYPE s3d_requests_total counter" in text or "# TYPE s3d_requests counter" in text
    s = scrape(server.endpoint)
    for name in ("s3d_journal_lsn", "s3d_disk_free_bytes", "s3d_received_bytes_total", "s3d_sent_bytes_total",
                 "s3d_cache_hits_total", "s3d_cache_misses_total", "s3d_cache_evictions_total"):  # fmt: skip
        assert any(n == name for n, _ in s), name
    assert value(s, "s3d_info", version="0.1.0", mode="local") == 1
    assert value(s, "s3d_disk_free_bytes") > 0
    # local mode: no remote, so no gateway gauges
    assert not any(n.startswith(("s3d_queue_", "s3d_remote_")) for n, _ in s)


def test_counters_add_up_across_workers(server: S3dProcess, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    before = scrape(server.endpoint)
    # unsigned requests on fresh connections land on both workers
    workers: set[str] = set()
    anon = 0
    while anon < ANON_REQUESTS_MAX and (len(workers) < 2 or anon < 20):
        workers.add(_anonymous_get(server.endpoint, f"/{bucket}/anon-{anon}"))
        anon += 1
    assert len(workers) == 2, f"{anon} requests were all answered by {workers}"
    body = b"x" * 5000
    n = 12
    for i in range(n):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=body)
    for i in range(n):
        assert s3.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read() == body
    lsn_before = value(before, "s3d_journal_lsn")

    # every scrape, whichever worker answers it, reports the sum over both processes
    scrapes = [scrape(server.endpoint) for _ in range(6)]
    for after in scrapes:

        def d(name: str, after: Samples = after, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert d("s3d_requests_total", operation="GetObject", status="403") == anon
        assert d("s3d_requests_total", operation="PutObject", status="200") == n
        assert d("s3d_requests_total", operation="GetObject", status="200") == n
        assert d("s3d_request_duration_seconds_count", operation="PutObject") == n
        assert d("s3d_request_duration_seconds_bucket", operation="PutObject", le="+Inf") == n
        assert d("s3d_request_duration_seconds_sum", operation="PutObject") > 0
        assert d("s3d_received_bytes_total") >= n * len(body)
        assert d("s3d_sent_bytes_total") >= n * len(body)
        assert value(after, "s3d_journal_lsn") >= lsn_before + n


def test_metrics_token(tmp_path) -> None:  # type: ignore[no-untyped-def]
    token = "metrics-token-for-tests-0123"
    proc = S3dProcess(tmp_path / "data", workers=1, env_extra={"S3D_METRICS_TOKEN": token}).start()
    try:
        status, _ = fetch(proc.endpoint)
        assert status == 403
        status, _ = fetch(proc.endpoint, token="wrong-token")
        assert status == 403
        assert value(scrape(proc.endpoint, token=token), "s3d_journal_lsn") == 0
        # health and readiness stay open
        with urllib.request.urlopen(proc.endpoint + "/_s3d/ready", timeout=10) as r:
            assert r.status == 200
    finally:
        proc.stop()


def test_lag_follows_the_remote(rclone_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = rclone_gateway
    ep = gw.s3d.endpoint
    s3 = gw.client()
    s3.create_bucket(Bucket="lag")
    gw.flush()
    s = wait_for(ep, lambda s: value(s, "s3d_remote_up") == 1)
    assert value(s, "s3d_remote_up") == 1
    assert value(s, "s3d_queue_pending_records") == 0
    assert value(s, "s3d_remote_hwm") == value(s, "s3d_journal_lsn") > 0
    assert value(s, "s3d_remote_requests_total", operation="ensure_bucket") >= 1
    errors_before = total(s, "s3d_remote_errors_total")

    gw.remote.stop()
    n, size = 5, 10_000
    for i in range(n):
        s3.put_object(Bucket="lag", Key=f"o{i}", Body=b"z" * size)
    down = wait_for(ep, lambda s: value(s, "s3d_remote_up") == 0 and value(s, "s3d_queue_pending_records") >= n)
    assert value(down, "s3d_remote_up") == 0
    assert value(down, "s3d_queue_pending_records") >= n
    assert value(down, "s3d_queue_pending_bytes") >= n * size
    assert value(down, "s3d_queue_oldest_age_seconds") > 0
    assert value(down, "s3d_dirty_bytes") >= n * size
    assert value(down, "s3d_journal_lsn") - value(down, "s3d_remote_hwm") >= n
    assert value(down, "s3d_queue_failed_records") == 0  # unreachable is retried, not a failure of the key
    assert total(down, "s3d_remote_errors_total") > errors_before

    gw.remote.start()
    gw.flush(timeout=120)
    up = wait_for(ep, lambda s: value(s, "s3d_remote_up") == 1 and value(s, "s3d_queue_pending_records") == 0)
    assert value(up, "s3d_remote_up") == 1
    assert value(up, "s3d_queue_pending_records") == 0
    assert value(up, "s3d_queue_pending_bytes") == 0
    assert value(up, "s3d_queue_oldest_age_seconds") == 0
    assert value(up, "s3d_remote_hwm") == value(up, "s3d_journal_lsn")
    assert value(up, "s3d_remote_requests_total", operation="put_object") >= n
