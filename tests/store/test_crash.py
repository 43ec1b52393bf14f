"""kill -9 in the middle of concurrent PUTs: no acknowledged write is lost, nothing is half-written,
and recovery leaves no orphan blob or temporary file."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import ClientError

from tests.conftest import client_for
from tests.support.faults import blob_files, blob_path, referenced_blobs, tmp_files
from tests.support.server import S3dProcess

N_PUTS = 200
N_KEYS = 70  # fewer keys than PUTs: many keys get several versions
THREADS = 12
KILL_AFTER_ACKS = 50
INLINE_MAX = 64 * 1024


@dataclass
class Put:
    index: int
    key: str
    body: bytes
    start: float = 0.0
    end: float = 0.0
    outcome: str = "not sent"  # "ok", "http <code>", "connection"
    etag: str = ""

    @property
    def md5(self) -> str:
        return hashlib.md5(self.body).hexdigest()


def plan() -> list[Put]:
    puts = []
    for i in range(N_PUTS):
        rng = random.Random(i)
        key = f"crash/{rng.randrange(N_KEYS):03d}"
        if rng.random() < 0.4:
            size = rng.randrange(200 * 1024, 2 * 1024 * 1024)  # a blob
        else:
            size = rng.randrange(1, INLINE_MAX)  # inline in the metadata store
        puts.append(Put(i, key, rng.randbytes(size)))
    return puts


def client(server: S3dProcess):  # type: ignore[no-untyped-def]
    return client_for(server.endpoint, server.access_key, server.secret_key, connect_timeout=5, read_timeout=30)


def test_kill9_during_concurrent_puts_loses_no_acknowledged_write(fresh_server: S3dProcess) -> None:
    s3 = client(fresh_server)
    s3.create_bucket(Bucket="crash")
    puts = plan()
    lock = threading.Lock()
    acked = threading.Event()
    state = {"acks": 0, "in_flight": 0}

    def send(p: Put) -> None:
        with lock:
            state["in_flight"] += 1
        p.start = time.monotonic()
        try:
            r = s3.put_object(Bucket="crash", Key=p.key, Body=p.body)
            p.outcome = "ok"
            p.etag = r["ETag"]
        except ClientError as e:
            p.outcome = f"http {e.response['ResponseMetadata'].get('HTTPStatusCode')}"
        except Exception:  # noqa: BLE001 - the daemon died under this request
            p.outcome = "connection"
        finally:
            p.end = time.monotonic()
            with lock:
                state["in_flight"] -= 1
                if p.outcome == "ok":
                    state["acks"] += 1
                    if state["acks"] >= KILL_AFTER_ACKS:
                        acked.set()

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(send, p) for p in puts]
        assert acked.wait(120), "the daemon never acknowledged enough PUTs to crash it in the middle"
        with lock:
            in_flight_at_kill = state["in_flight"]
        fresh_server.kill9()
        for f in futures:
            f.result(timeout=120)

    assert in_flight_at_kill > 0, "the kill must land while PUTs are in flight"
    assert [p for p in puts if p.outcome.startswith("http")] == [], "no PUT may be refused before the crash"
    assert all(p.etag == f'"{p.md5}"' for p in puts if p.outcome == "ok")
    n_acked = sum(p.outcome == "ok" for p in puts)
    assert KILL_AFTER_ACKS <= n_acked < N_PUTS

    fresh_server.start()  # same data dir, same port: recovery runs first
    s3 = client(fresh_server)
    by_key: dict[str, list[Put]] = {}
    for p in puts:
        by_key.setdefault(p.key, []).append(p)
    present = {}
    for key, versions in by_key.items():
        acks = [p for p in versions if p.outcome == "ok"]
        try:
            got = s3.get_object(Bucket="crash", Key=key)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "NoSuchKey"
            assert acks == [], f"{key}: acknowledged PUTs {[p.index for p in acks]} lost"
            continue
        body = got["Body"].read()
        match = [p for p in versions if p.body == body]
        assert match, f"{key}: {len(body)} bytes that no PUT sent (half-written?)"
        v = match[0]
        assert v.outcome in ("ok", "connection"), f"{key}: version {v.index} was never sent"
        assert got["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
        for a in acks:
            # v may be a, or any version not finished before a began (then it may have committed after a)
            assert v is a or not (v.outcome == "ok" and v.end < a.start), (
                f"{key}: reads version {v.index}, older than acknowledged version {a.index}"
            )
        present[key] = len(body)

    listed = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash"):
        listed.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    assert listed == present

    data = fresh_server.data
    assert tmp_files(data) == []
    on_disk, referenced = blob_files(data), referenced_blobs(data)
    assert on_disk - referenced == set(), "orphan blobs survived recovery"
    assert referenced - on_disk == set(), "committed rows point at missing blobs"


def test_recovery_removes_planted_tmp_and_orphans_and_keeps_referenced(fresh_server: S3dProcess) -> None:
    s3 = client(fresh_server)
    s3.create_bucket(Bucket="plant")
    big = random.Random(7).randbytes(300 * 1024)
    s3.put_object(Bucket="plant", Key="big", Body=big)
    data = fresh_server.data
    (kept,) = referenced_blobs(data)
    assert blob_path(data, kept).is_file()
    fresh_server.stop()

    leftover = data / "tmp" / "0123456789abcdef0123456789abcdef"
    leftover.write_bytes(b"half an upload")
    orphan = blob_path(data, "ab" + "5" * 30)
    orphan.write_bytes(b"a blob whose metadata never committed")
    fresh_server.start()

    assert tmp_files(data) == []
    assert not orphan.exists()
    assert blob_path(data, kept).is_file()
    assert blob_files(data) == {kept}
    assert s3.get_object(Bucket="plant", Key="big")["Body"].read() == big
