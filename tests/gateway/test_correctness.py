"""The gateway under real conditions: the log wins over a late remote, and no key holds up unrelated work."""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.gateway.conftest import Gateway
from tests.support.fault_proxy import FaultProxy, Phantom, Rule
from tests.support.remotes import MOTO, RemoteServer
from tests.support.server import S3dProcess

FAST_FAIL = ("--drain-timeout", "5")
OBJECT = 512 * 1024  # under botocore's 1 MB threshold for Expect: 100-continue
SETTLE_WAIT = 90  # seconds a test waits at most for the shipper to reach a state


@contextmanager
def gateway_behind_proxy(
    tmp_path: Path, env: dict[str, str], kind: str = "rclone", args: tuple[str, ...] = ()
) -> Iterator[tuple[Gateway, FaultProxy]]:
    remote = RemoteServer(kind, tmp_path / f"{kind}-root").start()
    proxy = FaultProxy(remote.port).start()
    try:
        s3d = S3dProcess(
            tmp_path / "data", workers=2, env_extra={**remote.env(), **env},
            args=["--remote", proxy.url, *FAST_FAIL, *args],
        ).start()  # fmt: skip
        try:
            yield Gateway(s3d, remote), proxy
        finally:
            s3d.stop()
    finally:
        proxy.stop()
        remote.stop()


def wait_for(what, timeout: float = SETTLE_WAIT):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"not reached in {timeout} s")


def remote_keys(gw: Gateway, bucket: str) -> list[str]:
    rc = gw.remote.client()
    return sorted(o["Key"] for o in rc.list_objects_v2(Bucket=bucket).get("Contents", []))


def failed_keys(gw: Gateway) -> list[str]:
    code, body = gw.admin("GET", "/_s3d/queue")
    assert code == 200, body
    return sorted(f"{f['bucket']}/{f['key']}" for f in body["failed"])


def relisted(gw: Gateway, times: int, timeout: float = 60) -> None:
    """Wait until the daemon has listed the remote ``times`` more times."""
    deadline = time.monotonic() + timeout
    last = gw.status()["remote_refreshed_at"]
    for _ in range(times):
        while (now := gw.status()["remote_refreshed_at"]) == last:
            assert time.monotonic() < deadline, "the remote was not listed again"
            time.sleep(0.1)
        last = now


def bucket_flushed(gw: Gateway, bucket: str, timeout: float = 60) -> bool:
    code, body = gw.admin("POST", f"/_s3d/flush?bucket={bucket}&timeout={timeout}", timeout=timeout + 30)
    return code == 200 and bool(body["flushed"])


def test_a_file_dir_clash_on_the_remote_fails_visibly_and_holds_up_nothing_else(tmp_path: Path) -> None:
    """s3fs-fuse's `m/` marker and `m/x` clash on a filesystem-backed remote: one of them can never ship."""
    env = {"S3D_SHIP_MAX_ATTEMPTS": "2"}
    with gateway_behind_proxy(tmp_path, env) as (gw, _):
        s3 = gw.client()
        s3.create_bucket(Bucket="bkt1")
        s3.put_object(Bucket="bkt1", Key="m/", Body=b"")
        s3.put_object(Bucket="bkt1", Key="m/x", Body=b"inside")
        s3.create_bucket(Bucket="bkt2")
        s3.put_object(Bucket="bkt2", Key="k", Body=b"unrelated")
        assert bucket_flushed(gw, "bkt2")
        assert gw.remote.client().get_object(Bucket="bkt2", Key="k")["Body"].read() == b"unrelated"
        failed = wait_for(lambda: failed_keys(gw))
        assert set(failed) <= {"bkt1/m/", "bkt1/m/x"}
        assert gw.status()["failed_records"] == len(failed)
        assert s3.get_object(Bucket="bkt1", Key="m/x")["Body"].read() == b"inside"  # still served locally


def one_bad_key_then_good_ones(gw: Gateway, proxy: FaultProxy) -> Any:
    """Bucket ``data``: ``bad`` (the remote answers its PUT 500), then ``good0``..``good4``."""
    proxy.set_rules(Rule("/data/bad", 500, "InternalError", method="PUT"))
    s3 = gw.client()
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="bad", Body=b"refused")
    for i in range(5):
        s3.put_object(Bucket="data", Key=f"good{i}", Body=b"ships")
    return s3


def test_a_key_answered_500_forever_moves_to_the_failed_set_and_can_be_discarded(tmp_path: Path) -> None:
    env = {"S3D_SHIP_MAX_ATTEMPTS": "2"}
    with gateway_behind_proxy(tmp_path, env) as (gw, proxy):
        s3 = one_bad_key_then_good_ones(gw, proxy)
        s3.create_bucket(Bucket="later")
        s3.put_object(Bucket="later", Key="k", Body=b"after the bad key")
        assert bucket_flushed(gw, "later")
        assert wait_for(lambda: failed_keys(gw)) == ["data/bad"]
        assert remote_keys(gw, "data") == [f"good{i}" for i in range(5)]
        code, queue = gw.admin("GET", "/_s3d/queue")
        assert queue["failed"][0]["error"]["status"] == 500
        metrics = urllib.request.urlopen(gw.s3d.endpoint + "/metrics", timeout=30).read().decode()
        assert "s3d_queue_failed_records 1.0" in metrics
        code, body = gw.admin("POST", "/_s3d/queue/discard?bucket=data&key=bad")
        assert code == 200, body
        assert gw.flush(timeout=60)["flushed"]
        assert s3.get_object(Bucket="data", Key="bad")["Body"].read() == b"refused"  # kept locally


def test_a_restart_while_one_key_holds_hwm_back_still_flushes_to_the_end(tmp_path: Path) -> None:
    """Keys after a refused one ship and leave the journal while HWM waits; after kill -9 HWM reaches LSN."""
    env = {"S3D_SHIP_MAX_ATTEMPTS": "2"}
    with gateway_behind_proxy(tmp_path, env) as (gw, proxy):
        one_bad_key_then_good_ones(gw, proxy)
        wait_for(lambda: failed_keys(gw) == ["data/bad"])
        wait_for(lambda: remote_keys(gw, "data") == [f"good{i}" for i in range(5)])
        assert gw.status()["hwm"] < gw.status()["lsn"]
        gw.s3d.kill9()
        proxy.set_rules()
        gw.s3d.start()
        assert gw.flush(timeout=90)["flushed"]
        assert gw.status()["hwm"] == gw.status()["lsn"]
        assert remote_keys(gw, "data") == ["bad", *(f"good{i}" for i in range(5))]


def test_throttling_is_retried_and_never_counted_as_failed(tmp_path: Path) -> None:
    env = {"S3D_SHIP_MAX_ATTEMPTS": "1", "S3D_SHIP_FAIL_AFTER": "600"}
    with gateway_behind_proxy(tmp_path, env) as (gw, proxy):
        s3 = gw.client()
        s3.create_bucket(Bucket="slow")
        assert bucket_flushed(gw, "slow")
        proxy.set_rules(Rule("/slow/", 503, "SlowDown", method="PUT"))
        for i in range(3):
            s3.put_object(Bucket="slow", Key=f"k{i}", Body=b"later")
        wait_for(lambda: proxy.refused >= 6)
        assert gw.status()["failed_records"] == 0
        proxy.set_rules()
        assert gw.flush(timeout=90)["flushed"]
        assert remote_keys(gw, "slow") == ["k0", "k1", "k2"]


def test_deleted_keys_stay_deleted_after_the_remote_stalls_past_the_read_timeout(tmp_path: Path) -> None:
    """PUTs in flight to a stopped remote time out; the keys are deleted; the stale PUTs land late.

    The remote is moto: rclone serve s3, given a late PUT and a DELETE of one key at once, can keep a listing
    entry for a file it no longer has (its directory cache), which no client can put right; what s3d does about
    such an entry is the next test's."""
    env = {"S3D_REMOTE_READ_TIMEOUT": "2", "S3D_REMOTE_REFRESH": "2", "S3D_SHIP_SETTLE": "2"}
    with gateway_behind_proxy(tmp_path, env, kind=MOTO) as (gw, _):
        s3 = gw.client()
        s3.create_bucket(Bucket="stall")
        assert gw.flush(timeout=30)["flushed"]
        gw.remote.pause()
        try:
            keys = [f"k{i:02d}" for i in range(12)]
            for k in keys:
                s3.put_object(Bucket="stall", Key=k, Body=k.encode() * 100)
            time.sleep(3)  # the shipper's PUTs are in flight, then time out
            for k in keys:
                s3.delete_object(Bucket="stall", Key=k)
            time.sleep(3)
        finally:
            gw.remote.resume()
        assert gw.flush(timeout=120)["flushed"]
        assert remote_keys(gw, "stall") == []
        assert s3.list_objects_v2(Bucket="stall").get("KeyCount") == 0
        time.sleep(5)  # two re-listings of the remote
        assert remote_keys(gw, "stall") == []
        assert s3.list_objects_v2(Bucket="stall").get("KeyCount") == 0


def test_a_listing_entry_for_a_key_the_log_deleted_is_not_brought_back_unless_the_remote_holds_it(
    tmp_path: Path,
) -> None:
    env = {"S3D_REMOTE_REFRESH": "1"}
    with gateway_behind_proxy(tmp_path, env) as (gw, proxy):
        s3 = gw.client()
        s3.create_bucket(Bucket="gone")
        s3.put_object(Bucket="gone", Key="k", Body=b"deleted")
        assert gw.flush(timeout=30)["flushed"]
        s3.delete_object(Bucket="gone", Key="k")
        assert gw.flush(timeout=30)["flushed"]
        proxy.phantoms.append(Phantom("gone", "k", etag="0" * 32))
        relisted(gw, times=2)
        assert s3.list_objects_v2(Bucket="gone").get("KeyCount") == 0
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket="gone", Key="k")
        assert e.value.response["Error"]["Code"] == "404"


def test_a_key_shipped_after_a_timed_out_put_keeps_its_bytes_until_the_remote_is_confirmed(tmp_path: Path) -> None:
    """While the shipper waits to check that a late PUT did not land, eviction must not take the key for shipped."""
    env = {"S3D_REMOTE_READ_TIMEOUT": "2", "S3D_SHIP_SETTLE": "30"}
    with gateway_behind_proxy(tmp_path, env, args=("--cache-max-bytes", "2M")) as (gw, _):
        s3 = gw.client()
        s3.create_bucket(Bucket="settle")
        assert gw.flush(timeout=30)["flushed"]
        body = os.urandom(OBJECT)
        gw.remote.pause()
        try:
            s3.put_object(Bucket="settle", Key="k", Body=body)
            # the shipper's PUT times out (sending its body: urllib3's connect timeout, 5 s): its outcome is unknown
            time.sleep(8)
        finally:
            gw.remote.resume()
        wait_for(lambda: "k" in remote_keys(gw, "settle"))  # shipped again; now the 30 s check is pending
        for i in range(6):  # 3 MiB through a 2 MiB capacity: clean entries are evicted
            put_until_room(s3, "settle", f"other{i}", os.urandom(OBJECT))
        r = s3.get_object(Bucket="settle", Key="k")
        assert r["Body"].read() == body
        assert r["ResponseMetadata"]["HTTPHeaders"]["x-s3d-cache"] == "hit"  # local bytes, not fetched back
        assert gw.flush(timeout=90)["flushed"]
        assert gw.remote.client().get_object(Bucket="settle", Key="k")["Body"].read() == body


def put_until_room(s3: Any, bucket: str, key: str, body: bytes) -> None:
    for _ in range(300):
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            return
        except ClientError as e:  # SlowDown until shipping makes room
            assert e.response["Error"]["Code"] == "SlowDown"
            time.sleep(0.1)
    raise AssertionError(f"no room for {key} in 30 s")


def test_a_bucket_made_on_the_remote_is_served_at_once(tmp_path: Path) -> None:
    with gateway_behind_proxy(tmp_path, {"S3D_REMOTE_REFRESH": "3600"}) as (gw, _):
        rc = gw.remote.client()
        rc.create_bucket(Bucket="direct")
        rc.put_object(Bucket="direct", Key="a/b.txt", Body=b"written elsewhere")
        s3 = gw.client()
        assert s3.get_object(Bucket="direct", Key="a/b.txt")["Body"].read() == b"written elsewhere"
        s3.head_bucket(Bucket="direct")
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="direct").get("Contents", [])] == ["a/b.txt"]
