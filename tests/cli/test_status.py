"""status, flush, prefetch, pin and speedtest against a daemon without a remote (local mode)."""

from __future__ import annotations

import json
import re

from tests.cli.conftest import Cli

STATUS_FIELDS = {"lsn", "buckets", "objects", "bytes", "disk_free_bytes", "mode", "hwm", "pending_records",
                 "pending_bytes", "oldest_pending_age_s", "remote_reachable", "failed_records"}  # fmt: skip


def test_status_json(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a", Body=b"x" * 1500)
    s3.put_object(Bucket=bucket, Key="b", Body=b"y" * 500)
    s = json.loads(cli.ok("status", "--json").out)
    assert STATUS_FIELDS <= set(s)
    assert s["mode"] == "local" and s["lsn"] >= 3
    mine = next(b for b in s["buckets"] if b["name"] == bucket)
    assert (mine["objects"], mine["bytes"]) == (2, 2000)


def test_status_human(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a", Body=b"x" * 3072)
    r = cli.ok("status")
    lines = r.out.splitlines()
    assert lines[0] == f"s3d at {cli.env['S3D_ENDPOINT']}: local mode (no remote)"
    assert re.fullmatch(r"  journal +LSN \d+", lines[1])
    assert any(re.fullmatch(r"  disk free +\d+\.\d [KMGT]iB", line) for line in lines)
    assert re.search(rf"^{bucket} +1 +3\.0 KiB$", r.out, re.M), r.out
    assert re.search(r"^BUCKET +OBJECTS +SIZE$", r.out, re.M)
    assert re.search(r"^TOTAL +\d+ +\S+ \S+$", r.out, re.M)
    assert "HWM" not in r.out


def test_status_watch_refreshes(cli: Cli) -> None:
    r = cli.ok("status", "--watch", "--interval", "0.1", "--count", "3")
    assert r.out.count("local mode (no remote)") == 3
    assert r.out.count("Ctrl-C to stop") == 3
    r = cli.ok("status", "--json", "--watch", "--interval", "0.1", "--count", "2")
    docs = [json.loads(d) for d in r.out.split("\n\n")]
    assert [d["mode"] for d in docs] == ["local", "local"]


def test_flush_without_a_remote_fails(cli: Cli) -> None:
    r = cli("flush")
    assert (r.code, r.stdout) == (1, b"")
    assert r.err == "s3d flush: InvalidRequest: s3d runs without a remote: nothing to flush\n"


def test_prefetch_and_pin_without_a_remote_fail(cli: Cli, bucket: str) -> None:
    """The read cache exists only in gateway mode: the daemon's error, as one line, exit 1."""
    for command, target in (("prefetch", f"{bucket}/photos/"), ("prefetch", bucket), ("pin", f"{bucket}/photos/")):
        r = cli(command, target)
        assert (r.code, r.stdout) == (1, b""), r
        assert r.err == f"s3d {command}: InvalidRequest: s3d runs without a remote: there is no read cache\n"


def _speedtest_rows(out: str) -> list[list[str]]:
    lines = out.splitlines()
    assert lines[0].split() == ["TARGET", "SIZE", "OP", "N", "MiB/s", "P50", "ms", "MAX", "ms"]
    return [line.split() for line in lines[1:]]


def test_speedtest_local(cli: Cli, s3) -> None:  # type: ignore[no-untyped-def]
    before = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    r = cli.ok("speedtest", "--sizes", "4K,64K", "--count", "3")
    rows = _speedtest_rows(r.out)
    assert [(row[0], row[1] + " " + row[2], row[3], row[4]) for row in rows] == [
        ("daemon", "4.0 KiB", "PUT", "3"), ("daemon", "4.0 KiB", "GET", "3"),
        ("daemon", "64.0 KiB", "PUT", "3"), ("daemon", "64.0 KiB", "GET", "3"),
    ]  # fmt: skip
    for row in rows:
        assert all(float(v) > 0 for v in row[5:8]), row
    after = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert not {b for b in after - before if b.startswith("s3d-speedtest-")}  # the scratch bucket is gone


def test_speedtest_json_and_time_limit(cli: Cli) -> None:
    """--time-limit stops a series early, after at least one request."""
    results = json.loads(cli.ok("speedtest", "--sizes", "1K", "--count", "1000", "--time-limit", "0.001", "--json").out)
    assert [(r["target"], r["size"], r["op"]) for r in results] == [("daemon", 1024, "PUT"), ("daemon", 1024, "GET")]
    assert all(1 <= r["count"] < 1000 for r in results)
    assert all(r["mib_per_s"] > 0 and r["p50_ms"] > 0 and r["max_ms"] >= r["p50_ms"] for r in results)
