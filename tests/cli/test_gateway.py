"""status, flush, tag-driven uploads and speedtest against a gateway in front of `rclone serve s3`."""

from __future__ import annotations

import json
import os
import re
import time

from botocore.exceptions import ClientError

from tests.cli.conftest import Cli
from tests.gateway.conftest import Gateway

GATEWAY_FIELDS = {"lsn", "hwm", "pending_records", "pending_bytes", "oldest_pending_age_s", "remote", "remote_reachable",
                  "remote_down_since", "failed_records", "buckets"}  # fmt: skip
BUCKET_FIELDS = {
    "name",
    "objects",
    "bytes",
    "pending_records",
    "pending_bytes",
    "oldest_pending_age_s",
    "failed_records",
}


def remote_keys(gw: Gateway, bucket: str) -> list[str]:
    try:
        return [o["Key"] for o in gw.remote.client().list_objects_v2(Bucket=bucket).get("Contents", [])]
    except ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchBucket":
            return []
        raise


def test_upload_false_stays_local_until_tagged_true(gateway_cli: tuple[Cli, Gateway]) -> None:
    """The README flow: put --tag s3d.upload=false < file; later tag s3d.upload=true s3d.cache=pin ships it."""
    cli, gw = gateway_cli
    data = os.urandom(100_000)
    (cli.cwd / "report.pdf").write_bytes(data)
    cli.ok("mb", "docs")
    with open(cli.cwd / "report.pdf", "rb") as f:
        cli.ok("put", "docs/report.pdf", "--tag", "s3d.upload=false", input=f.read())
    cli.ok("put", "docs/public.txt", input=b"public")
    r = cli.ok("flush")
    assert re.fullmatch(r"flushed all buckets: everything up to LSN (\d+) is on the remote \(HWM (\d+)\)\n", r.out), (
        r.out
    )
    assert remote_keys(gw, "docs") == ["public.txt"]

    s = json.loads(cli.ok("status", "--json").out)
    assert GATEWAY_FIELDS <= set(s)
    assert s["mode"] == "gateway" and s["remote"] == gw.remote.url and s["remote_reachable"] is True
    assert s["hwm"] == s["lsn"] and s["pending_records"] == 0 and s["failed_records"] == 0
    (docs,) = s["buckets"]
    assert BUCKET_FIELDS <= set(docs)
    assert (docs["name"], docs["objects"], docs["pending_records"]) == ("docs", 2, 0)

    r = cli.ok("tag", "docs/report.pdf", "s3d.upload=true", "s3d.cache=pin")
    assert r.out == "s3d.upload=true\ns3d.cache=pin\n"
    r = cli.ok("flush", "docs")
    assert r.out.startswith("flushed bucket docs: everything up to LSN ")
    assert remote_keys(gw, "docs") == ["public.txt", "report.pdf"]
    assert gw.remote.client().get_object(Bucket="docs", Key="report.pdf")["Body"].read() == data

    r = cli.ok("status")
    lines = r.out.splitlines()
    assert lines[0] == f"s3d at {gw.s3d.endpoint}: gateway mode, remote {gw.remote.url}"
    assert "  remote     reachable" in lines
    lsn = json.loads(cli.ok("status", "--json").out)["lsn"]
    assert f"  journal    LSN {lsn}, HWM {lsn}" in lines
    assert "  lag        none: every change is on the remote" in lines
    assert "  failed     0 records" in lines
    assert re.search(r"^BUCKET +OBJECTS +SIZE +PENDING +PENDING SIZE +OLDEST +FAILED$", r.out, re.M)
    assert re.search(r"^docs +2 +97\.7 KiB +0 +0 B +0\.0s +0$", r.out, re.M), r.out
    assert re.search(r"^TOTAL +2 +97\.7 KiB +0 +0 B +0\.0s +0$", r.out, re.M), r.out


def test_remote_down_shows_in_status_and_flush_times_out(gateway_cli: tuple[Cli, Gateway]) -> None:
    cli, gw = gateway_cli
    cli.ok("mb", "bkt")
    cli.ok("flush")
    gw.remote.stop()
    try:
        cli.ok("put", "bkt/k", input=b"x" * 2048)
        deadline = time.monotonic() + 30
        while gw.status()["remote_reachable"] is not False and time.monotonic() < deadline:
            time.sleep(0.1)
        r = cli.ok("status")
        assert re.search(r"^  remote     UNREACHABLE since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\S+\): .+$", r.out, re.M), (
            r.out
        )
        assert re.search(r"^  lag        1 record, 2\.0 KiB, oldest \S+$", r.out, re.M), r.out
        assert re.search(r"^bkt +1 +2\.0 KiB +1 +2\.0 KiB +\S+ +0$", r.out, re.M), r.out
        s = json.loads(cli.ok("status", "--json").out)
        assert s["remote_reachable"] is False and s["remote_down_since"] > 0
        assert (s["pending_records"], s["pending_bytes"]) == (1, 2048)
        assert s["hwm"] < s["lsn"]

        r = cli("flush", "--timeout", "1")
        assert (r.code, r.stdout) == (1, b"")
        assert r.err.startswith("s3d flush: flush of all buckets timed out after 1s: still pending 1 record, 2.0 KiB, ")
        assert "; remote UNREACHABLE since " in r.err
    finally:
        gw.remote.start()
    cli.ok("flush")
    assert remote_keys(gw, "bkt") == ["k"]


def test_speedtest_measures_daemon_and_remote(gateway_cli: tuple[Cli, Gateway]) -> None:
    cli, gw = gateway_cli
    r = cli.ok("speedtest", "--sizes", "4K", "--count", "3")
    rows = [line.split() for line in r.out.splitlines()[1:]]
    assert [(row[0], row[3], row[4]) for row in rows] == [
        ("daemon", "PUT", "3"), ("daemon", "GET", "3"), ("remote", "PUT", "3"), ("remote", "GET", "3"),
    ]  # fmt: skip
    cli.ok("flush")
    leftovers = [
        b["Name"]
        for b in gw.remote.client().list_buckets().get("Buckets", [])
        if b["Name"].startswith("s3d-speedtest-")
    ]
    assert leftovers == []
    assert [b for b in json.loads(cli.ok("ls", "--json").out) if b["name"].startswith("s3d-speedtest-")] == []

    r = cli.ok("speedtest", "--sizes", "4K", "--count", "1", "--no-remote")
    assert [line.split()[0] for line in r.out.splitlines()[1:]] == ["daemon", "daemon"]


def test_speedtest_reports_an_unusable_remote(gateway_cli: tuple[Cli, Gateway]) -> None:
    """Without remote credentials the daemon's rows still print; the remote's failure is the exit status."""
    cli, gw = gateway_cli
    r = cli("speedtest", "--sizes", "4K", "--count", "1", env={"AWS_SECRET_ACCESS_KEY": "wrong"})
    assert r.code == 1
    assert [line.split()[0] for line in r.out.splitlines()[1:]] == ["daemon", "daemon"]
    assert r.err.startswith(f"s3d speedtest: remote {gw.remote.url}: ")
    assert "SignatureDoesNotMatch" in r.err or "AccessDenied" in r.err or "InvalidAccessKeyId" in r.err


def test_prefetch_and_pin_warm_remote_objects(gateway_cli: tuple[Cli, Gateway]) -> None:
    cli, gw = gateway_cli
    s3 = gw.client()
    s3.create_bucket(Bucket="warmcli")
    gw.flush()
    rc = gw.remote.client()
    for i in range(3):
        rc.put_object(Bucket="warmcli", Key=f"photos/{i}.jpg", Body=b"%d" % i * 1000)
    for i in range(3):  # known to s3d (as remote-only), not held locally
        s3.head_object(Bucket="warmcli", Key=f"photos/{i}.jpg")
    r = cli("prefetch", "warmcli/photos/")
    assert r.code == 0, r
    r = cli("pin", "warmcli/photos/")
    assert r.code == 0, r
    gw.remote.stop()
    for i in range(3):
        got = s3.get_object(Bucket="warmcli", Key=f"photos/{i}.jpg")
        assert got["Body"].read() == b"%d" % i * 1000
        assert got["ResponseMetadata"]["HTTPHeaders"]["x-s3d-cache"] in ("hit", "stale")
