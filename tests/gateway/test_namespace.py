"""Gateway reads and namespace: read-through, others' writes appearing, disk loss, backpressure.

Against every kind of remote that survives its own restart (on_remotes: rclone and Ceph RGW): read-through,
an unshipped delete during an outage, others' writes and deletes appearing, and a lost data dir. The rest run
against rclone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.gateway.conftest import Gateway, own_gateway, start_gateway
from tests.support.remotes import RCLONE, RGW, Remote, RemoteServer, on_remotes


@on_remotes(RCLONE, RGW)
def test_read_through_of_object_put_on_the_remote(gateway: Gateway) -> None:
    gw = gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="shared")
    gw.flush()
    body = os.urandom(3 * 1024 * 1024)
    gw.remote.client().put_object(
        Bucket="shared", Key="from/elsewhere.bin", Body=body, ContentType="application/x-test"
    )
    got = s3.get_object(Bucket="shared", Key="from/elsewhere.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    part = s3.get_object(Bucket="shared", Key="from/elsewhere.bin", Range="bytes=1000-1999")
    assert part["Body"].read() == body[1000:2000]
    assert part["ContentRange"] == f"bytes 1000-1999/{len(body)}"
    assert s3.head_object(Bucket="shared", Key="from/elsewhere.bin")["ContentLength"] == len(body)
    # once read, it is part of the listing
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="shared")["Contents"]]
    assert keys == ["from/elsewhere.bin"]


@on_remotes(RCLONE, RGW)
def test_unshipped_delete_wins_over_remote_copy(gateway: Gateway) -> None:
    gw = gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="del")
    s3.put_object(Bucket="del", Key="k", Body=b"v1")
    gw.flush()
    gw.remote.stop()
    s3.delete_object(Bucket="del", Key="k")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="del", Key="k")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    s3.put_object(Bucket="del", Key="k2", Body=b"new")
    assert s3.get_object(Bucket="del", Key="k2")["Body"].read() == b"new"
    gw.remote.start()
    assert gw.flush()["flushed"]
    with pytest.raises(ClientError):
        gw.remote.client().head_object(Bucket="del", Key="k")


def test_delete_of_remote_only_object_reaches_remote(rclone_gateway: Gateway) -> None:
    gw = rclone_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="rdel")
    gw.flush()
    gw.remote.client().put_object(Bucket="rdel", Key="theirs", Body=b"x")
    s3.delete_object(Bucket="rdel", Key="theirs")
    assert gw.flush()["flushed"]
    with pytest.raises(ClientError):
        gw.remote.client().head_object(Bucket="rdel", Key="theirs")


def test_uncached_object_with_remote_down_is_503(rclone_gateway: Gateway) -> None:
    gw = rclone_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="down")
    gw.flush()
    gw.remote.client().put_object(Bucket="down", Key="remote-only", Body=b"x")
    s3.head_object(Bucket="down", Key="remote-only")  # known, but its bytes are not here
    s3.put_object(Bucket="down", Key="local", Body=b"here")
    gw.remote.stop()
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="down", Key="remote-only")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert "remote" in e.value.response["Error"]["Message"]
    assert s3.get_object(Bucket="down", Key="local")["Body"].read() == b"here"


@on_remotes(RCLONE, RGW)
def test_objects_written_by_others_appear_after_refresh(remote_server: Remote, tmp_path: Path) -> None:
    remote = remote_server
    s3d = start_gateway(tmp_path, remote, port=0)
    s3d.stop()
    s3d = start_gateway(tmp_path, remote)
    s3d.stop()
    # a short refresh interval for the test
    s3d.env_extra = {**s3d.env_extra, "S3D_REMOTE_REFRESH": "0.5"}
    s3d.start()
    try:
        gw = Gateway(s3d, remote)
        s3 = gw.client()
        s3.create_bucket(Bucket="seen")
        gw.flush()
        remote.client().put_object(Bucket="seen", Key="a/new", Body=b"hello")
        deadline = time.monotonic() + 20
        keys: list[str] = []
        while time.monotonic() < deadline:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="seen").get("Contents", [])]
            if keys:
                break
            time.sleep(0.2)
        assert keys == ["a/new"]
        assert s3.get_object(Bucket="seen", Key="a/new")["Body"].read() == b"hello"
        remote.client().delete_object(Bucket="seen", Key="a/new")
        deadline = time.monotonic() + 20
        while keys and time.monotonic() < deadline:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="seen").get("Contents", [])]
            time.sleep(0.2)
        assert keys == []
    finally:
        s3d.stop()


@on_remotes(RCLONE, RGW)
def test_empty_data_dir_serves_what_the_remote_holds(remote_server: Remote, tmp_path: Path) -> None:
    remote = remote_server
    first = start_gateway(tmp_path / "first", remote)
    try:
        gw = Gateway(first, remote)
        s3 = gw.client()
        s3.create_bucket(Bucket="precious")
        data = {f"dir/{i}": os.urandom(100 + i) for i in range(20)}
        for k, v in data.items():
            s3.put_object(Bucket="precious", Key=k, Body=v)
        assert gw.flush()["flushed"]
    finally:
        first.stop()
    # the disk is lost: a new, empty data dir in front of the same remote
    second = start_gateway(tmp_path / "second", remote)
    try:
        s3 = Gateway(second, remote).client()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
            if "precious" in names and len(s3.list_objects_v2(Bucket="precious").get("Contents", [])) == 20:
                break
            time.sleep(0.2)
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="precious")["Contents"]]
        assert sorted(listed) == sorted(data)
        for k, v in data.items():
            assert s3.get_object(Bucket="precious", Key=k)["Body"].read() == v
    finally:
        second.stop()


def test_backpressure_at_capacity_then_recovery(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--cache-max-bytes", "1M") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket="bpq")
        gw.flush()
        gw.remote.stop()
        accepted = {}
        refused = None
        for i in range(40):  # 40 x 100 KiB = 4x the capacity
            body = os.urandom(100 * 1024)
            try:
                s3.put_object(Bucket="bpq", Key=f"k{i}", Body=body)
                accepted[f"k{i}"] = body
            except ClientError as e:
                refused = e.response
                break
            time.sleep(0.05)  # let the shipper publish its dirty-bytes figure
        assert refused is not None, "no write was refused at capacity"
        assert refused["Error"]["Code"] == "SlowDown" and refused["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert 0 < len(accepted) < 40
        gw.remote.start()
        assert gw.flush(timeout=60)["flushed"]
        time.sleep(1)  # the dirty figure is republished
        s3.put_object(Bucket="bpq", Key="after", Body=b"room again")
        assert gw.flush(timeout=60)["flushed"]
        rc = gw.remote.client()
        for k, v in accepted.items():
            assert rc.get_object(Bucket="bpq", Key=k)["Body"].read() == v


def test_misconfigured_remote_url_refuses_to_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "s3d", "run", "--data", str(tmp_path / "d"), "--remote", "not a url"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "remote URL" in r.stderr


def test_unreachable_remote_at_start_still_serves_locally(tmp_path: Path) -> None:
    remote = RemoteServer("rclone", tmp_path / "root")  # never started: nothing listens
    from tests.support.server import free_port

    remote.port = free_port()
    s3d = start_gateway(tmp_path, remote)
    try:
        gw = Gateway(s3d, remote)
        s3 = gw.client()
        s3.create_bucket(Bucket="local")
        s3.put_object(Bucket="local", Key="k", Body=b"fine")
        assert s3.get_object(Bucket="local", Key="k")["Body"].read() == b"fine"
        deadline = time.monotonic() + 20
        while gw.status()["remote_reachable"] is not False and time.monotonic() < deadline:
            time.sleep(0.1)
        st = gw.status()
        assert st["remote_reachable"] is False and st["remote_error"]
        code, ready = gw.admin("GET", "/_s3d/ready")
        assert code == 200 and ready["ready"] is True and ready["remote_reachable"] is False
    finally:
        s3d.stop()


def test_status_tells_when_the_remote_was_last_listed(tmp_path: Path) -> None:
    with own_gateway(tmp_path, kind=RCLONE) as gw:
        deadline = time.monotonic() + 30
        while (first := gw.status()["remote_refreshed_at"]) is None:
            assert time.monotonic() < deadline, "no listing at start"
            time.sleep(0.05)
        assert abs(first - time.time()) < 60
