"""The read cache in gateway mode, against a real remote behind a counting proxy.

Against rclone and Ceph RGW (on_remotes): one remote GET per block under concurrent reads, a replaced remote
object never served mixed, an outage (cached served stale, uncached 503) and the cache kept across a restart.
The rest (sizes, capacity, eviction, prefetch: s3d's own bookkeeping) run against rclone.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.gateway.conftest import Gateway, start_gateway
from tests.support.proxy import CountingProxy
from tests.support.remotes import RCLONE, RGW, Remote, on_remotes

MiB = 1024 * 1024
BLOCK = 1 * MiB


@dataclass
class Via:
    """The remote as s3d sees it: through the counting proxy."""

    remote: Remote
    proxy: CountingProxy

    @property
    def url(self) -> str:
        return self.proxy.url

    def env(self) -> dict[str, str]:
        return self.remote.env()


@dataclass
class CacheSetup:
    gw: Gateway
    proxy: CountingProxy
    tmp: Path

    def restart(self, *args: str) -> None:
        self.gw.s3d.stop()
        self.gw.s3d = start_gateway(self.tmp, Via(self.gw.remote, self.proxy), *args, port=self.gw.s3d.port)  # type: ignore[arg-type]


def _setup(remote: Remote, tmp_path: Path, *args: str) -> Iterator[CacheSetup]:
    proxy = CountingProxy(remote.port).start()
    s3d = start_gateway(tmp_path, Via(remote, proxy), "--cache-block-size", "1M", *args)  # type: ignore[arg-type]
    setup = CacheSetup(Gateway(s3d, remote), proxy, tmp_path)
    try:
        yield setup
    finally:
        setup.gw.s3d.stop()
        proxy.stop()


@pytest.fixture
def cache(remote_server: Remote, tmp_path: Path) -> Iterator[CacheSetup]:
    yield from _setup(remote_server, tmp_path, "--cache-max-bytes", "64M")


def cache_header(resp) -> str:  # type: ignore[no-untyped-def]
    return resp["ResponseMetadata"]["HTTPHeaders"]["x-s3d-cache"]


def read_retrying_503(s3, bucket: str, key: str) -> bytes:  # type: ignore[no-untyped-def]
    """Read as S3 clients do right after an outage: a 503 is retried."""
    for _ in range(20):
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
        except ClientError as e:
            if e.response["ResponseMetadata"]["HTTPStatusCode"] != 503:
                raise
            time.sleep(0.25)
    raise AssertionError(f"{bucket}/{key} still unavailable")


def put_remote(setup: CacheSetup, bucket: str, key: str, body: bytes) -> None:
    rc = setup.gw.remote.client()
    try:
        rc.create_bucket(Bucket=bucket)
    except ClientError:
        pass
    rc.put_object(Bucket=bucket, Key=key, Body=body)


def test_one_byte_range_of_big_remote_object_fetches_one_block(cache: CacheSetup, tmp_path: Path) -> None:
    s3 = cache.gw.client()
    s3.create_bucket(Bucket="huge")
    cache.gw.flush()
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:  # 512 MiB, mostly a repeating pattern, a marker in the middle
        chunk = bytes(range(256)) * 4096
        for _ in range(512):
            f.write(chunk)
    cache.gw.remote.client().upload_file(str(big), "huge", "big.bin")
    cache.proxy.reset()
    r = s3.get_object(Bucket="huge", Key="big.bin", Range="bytes=300000000-300000000")
    assert r["Body"].read() == bytes([300000000 % 256])
    assert cache_header(r) == "miss"
    assert cache.proxy.bytes_down <= BLOCK + 64 * 1024  # one block plus HTTP headers
    assert cache.proxy.gets("big.bin") == 1
    r = s3.get_object(Bucket="huge", Key="big.bin", Range="bytes=300000001-300000010")
    assert cache_header(r) == "hit"
    assert r["Body"].read() == bytes((300000001 + i) % 256 for i in range(10))


@on_remotes(RCLONE, RGW)
def test_concurrent_reads_of_uncached_object_make_one_remote_get_per_block(cache: CacheSetup) -> None:
    s3 = cache.gw.client()
    s3.create_bucket(Bucket="flight")
    cache.gw.flush()
    body = os.urandom(3 * BLOCK + 1234)
    put_remote(cache, "flight", "obj", body)
    s3.head_object(Bucket="flight", Key="obj")
    cache.proxy.reset()
    results: list[bytes] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            results.append(cache.gw.client().get_object(Bucket="flight", Key="obj")["Body"].read())
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=read) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert results == [body] * 20
    assert cache.proxy.gets("/flight/obj") == 4  # one per block


@on_remotes(RCLONE, RGW)
def test_replaced_remote_object_is_never_served_mixed(remote_server: Remote, tmp_path: Path) -> None:
    for setup in _setup(remote_server, tmp_path, "--cache-max-bytes", "64M", "--cache-revalidate-after", "0"):
        s3 = setup.gw.client()
        s3.create_bucket(Bucket="swap")
        setup.gw.flush()
        old, new = b"A" * (2 * BLOCK + 10), b"B" * (2 * BLOCK + 10)
        put_remote(setup, "swap", "k", old)
        assert s3.get_object(Bucket="swap", Key="k", Range=f"bytes=0-{BLOCK - 1}")["Body"].read() == old[:BLOCK]
        put_remote(setup, "swap", "k", new)  # behind s3d's back
        got = s3.get_object(Bucket="swap", Key="k")["Body"].read()
        assert got == new


@on_remotes(RCLONE, RGW)
def test_remote_down_serves_cached_as_stale_and_uncached_as_503(cache: CacheSetup) -> None:
    s3 = cache.gw.client()
    s3.create_bucket(Bucket="outage")
    cache.gw.flush()
    put_remote(cache, "outage", "cached", b"c" * 100)
    put_remote(cache, "outage", "uncached", b"u" * 100)
    assert s3.get_object(Bucket="outage", Key="cached")["Body"].read() == b"c" * 100
    s3.head_object(Bucket="outage", Key="uncached")
    cache.restart("--cache-block-size", "1M", "--cache-max-bytes", "64M", "--cache-revalidate-after", "0")
    cache.gw.remote.stop()
    s3 = cache.gw.client()
    r = s3.get_object(Bucket="outage", Key="cached")
    assert r["Body"].read() == b"c" * 100 and cache_header(r) == "stale"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="outage", Key="uncached")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert s3.head_object(Bucket="outage", Key="uncached")["ContentLength"] == 100  # HEAD answers from what is known


def test_capacity_bound_holds_while_writing_and_reading_three_times_capacity(
    remote_server: Remote, tmp_path: Path
) -> None:
    for setup in _setup(remote_server, tmp_path, "--cache-max-bytes", "8M"):
        gw = setup.gw
        s3 = gw.client()
        s3.create_bucket(Bucket="churn")
        s3.put_object(Bucket="churn", Key="pinned", Body=b"p" * (512 * 1024), Tagging="s3d.cache=pin")
        written: dict[str, bytes] = {}
        samples: list[int] = []
        for i in range(24):  # 24 x 1 MiB = 3x the capacity
            body = os.urandom(BLOCK)
            for _ in range(100):
                try:
                    s3.put_object(Bucket="churn", Key=f"k{i}", Body=body)
                    break
                except ClientError as e:  # SlowDown until the queue drains: never a silent drop
                    assert e.response["Error"]["Code"] == "SlowDown"
                    time.sleep(0.1)
            written[f"k{i}"] = body
            samples.append(gw.status()["cache_used_bytes"])
        assert gw.flush()["flushed"]
        for k, v in written.items():  # read everything back: evicted ones come from the remote
            assert s3.get_object(Bucket="churn", Key=k)["Body"].read() == v
            samples.append(gw.status()["cache_used_bytes"])
        assert max(samples) <= 8 * MiB + BLOCK
        st = gw.status()
        assert st["cache_bytes"] > 0 and st["cache_evictions"] >= 0
        blob_bytes = sum(f.stat().st_size for f in (gw.s3d.data / "blobs").rglob("*") if f.is_file())
        assert blob_bytes <= 8 * MiB + BLOCK
        gw.remote.stop()  # the pinned object is still here
        r = s3.get_object(Bucket="churn", Key="pinned")
        assert r["Body"].read() == b"p" * (512 * 1024) and cache_header(r) == "hit"


def test_dirty_data_survives_eviction_pressure(remote_server: Remote, tmp_path: Path) -> None:
    # bucket "stuck" maps to a name the remote refuses (too short): its objects can never ship, so
    # they stay dirty however long the remote is up, while bucket "dirty" reads through normally
    for setup in _setup(remote_server, tmp_path, "--cache-max-bytes", "6M", "--remote-bucket-map", "stuck=x"):
        gw = setup.gw
        s3 = gw.client()
        s3.create_bucket(Bucket="dirty")
        s3.create_bucket(Bucket="stuck")
        gw.admin("POST", "/_s3d/flush?bucket=dirty&timeout=30")
        put_remote(setup, "dirty", "remote-a", os.urandom(2 * BLOCK))
        put_remote(setup, "dirty", "remote-b", os.urandom(2 * BLOCK))
        local = {f"d{i}": os.urandom(BLOCK) for i in range(3)}
        for k, v in local.items():
            s3.put_object(Bucket="stuck", Key=k, Body=v)
        for k in ("remote-a", "remote-b"):  # reading 4 MiB of remote objects into 3 MiB of room
            read_retrying_503(s3, "dirty", k)
        assert gw.status()["pending_records"] >= 3  # still not shipped: dirty
        gw.remote.stop()
        for k, v in local.items():
            assert s3.get_object(Bucket="stuck", Key=k)["Body"].read() == v


@on_remotes(RCLONE, RGW)
def test_restart_keeps_the_cache(cache: CacheSetup) -> None:
    s3 = cache.gw.client()
    s3.create_bucket(Bucket="keep")
    cache.gw.flush()
    body = os.urandom(BLOCK + 5)
    put_remote(cache, "keep", "k", body)
    s3.get_object(Bucket="keep", Key="k")["Body"].read()
    deadline = time.monotonic() + 10  # the last block is recorded just after its bytes went out
    while cache.gw.status()["cache_bytes"] < len(body) and time.monotonic() < deadline:
        time.sleep(0.05)
    before = cache.gw.status()["cache_bytes"]
    assert before == len(body)
    cache.restart("--cache-block-size", "1M", "--cache-max-bytes", "64M", "--cache-revalidate-after", "3600")
    cache.proxy.reset()
    r = cache.gw.client().get_object(Bucket="keep", Key="k")
    assert r["Body"].read() == body and cache_header(r) == "hit"
    assert cache.proxy.gets("/keep/k") == 0
    assert cache.gw.status()["cache_bytes"] == before


def test_prefetch_warms_a_prefix_and_stops_at_capacity(remote_server: Remote, tmp_path: Path) -> None:
    for setup in _setup(remote_server, tmp_path, "--cache-max-bytes", "4M"):
        gw = setup.gw
        s3 = gw.client()
        s3.create_bucket(Bucket="warm")
        gw.flush()
        for i in range(3):
            put_remote(setup, "warm", f"small/{i}", b"s" * 1000)
        for i in range(8):
            put_remote(setup, "warm", f"big/{i}", os.urandom(BLOCK))
        setup.restart("--cache-block-size", "1M", "--cache-max-bytes", "4M")  # the refresh at start lists them
        deadline = time.monotonic() + 20
        while len(gw.client().list_objects_v2(Bucket="warm").get("Contents", [])) < 11 and time.monotonic() < deadline:
            time.sleep(0.2)
        code, body = gw.admin("POST", "/_s3d/prefetch?bucket=warm&prefix=small/")
        assert code == 200 and body["objects"] == 3 and body["done"] is True
        gw.remote.stop()
        assert gw.client().get_object(Bucket="warm", Key="small/1")["Body"].read() == b"s" * 1000
        gw.remote.start()
        code, body = gw.admin("POST", "/_s3d/prefetch?bucket=warm&prefix=big/")
        assert code == 200 and body["stopped_at_capacity"] is True and body["objects"] < 8


def requests_for(proxy: CountingProxy, *keys: str) -> list[tuple[str, str]]:
    """The requests s3d sent the remote about these keys (the shipper's and refresh's own are left out)."""
    return [(m, p) for m, p in list(proxy.requests) if any(f"/{k}" in p for k in keys)]


def test_a_fully_cached_object_is_served_with_no_remote_request_while_fresh(
    remote_server: Remote, tmp_path: Path
) -> None:
    for setup in _setup(remote_server, tmp_path, "--cache-max-bytes", "64M", "--cache-revalidate-after", "3600"):
        s3 = setup.gw.client()
        s3.create_bucket(Bucket="fresh")
        setup.gw.flush()
        small, big = os.urandom(4096), os.urandom(3 * BLOCK + 5)  # one block; four (served from open blocks)
        put_remote(setup, "fresh", "small", small)
        put_remote(setup, "fresh", "big", big)
        assert s3.get_object(Bucket="fresh", Key="small")["Body"].read() == small
        assert s3.get_object(Bucket="fresh", Key="big")["Body"].read() == big
        setup.proxy.reset()
        for _ in range(5):
            for key, body in (("small", small), ("big", big)):
                r = s3.get_object(Bucket="fresh", Key=key)
                assert r["Body"].read() == body
                assert cache_header(r) == "hit"
            r = s3.get_object(Bucket="fresh", Key="big", Range=f"bytes={BLOCK - 3}-{2 * BLOCK + 2}")
            assert r["Body"].read() == big[BLOCK - 3 : 2 * BLOCK + 3]
        assert requests_for(setup.proxy, "small", "big") == []


def test_a_fully_cached_object_is_checked_again_after_cache_revalidate_after(
    remote_server: Remote, tmp_path: Path
) -> None:
    revalidate = 1.0
    for setup in _setup(remote_server, tmp_path, "--cache-revalidate-after", str(revalidate)):
        s3 = setup.gw.client()
        s3.create_bucket(Bucket="recheck")
        setup.gw.flush()
        old, new = os.urandom(4096), os.urandom(4096)
        put_remote(setup, "recheck", "k", old)
        for _ in range(4):  # both workers read it, from the cache once fetched
            assert s3.get_object(Bucket="recheck", Key="k")["Body"].read() == old
        put_remote(setup, "recheck", "k", new)  # behind s3d's back, same size
        time.sleep(revalidate + 0.5)
        for _ in range(4):
            assert s3.get_object(Bucket="recheck", Key="k")["Body"].read() == new
