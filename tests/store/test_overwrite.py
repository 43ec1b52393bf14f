"""Many overwrites of one key while readers read it: never a torn object, and the last write wins."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.support.faults import blob_files, referenced_blobs
from tests.support.server import S3dProcess

VERSIONS = 24
READERS = 3
MAX_READS = 300  # per reader
DEADLINE = 60.0


def versions(seed: int) -> list[bytes]:
    """Alternating large (blob) and small (inline) versions, each unlike the others."""
    rng = random.Random(seed)
    out = []
    for i in range(VERSIONS):
        size = rng.randrange(600 * 1024, 1200 * 1024) if i % 3 else rng.randrange(1000, 60 * 1024)
        out.append(rng.randbytes(size))
    return out


def test_readers_never_see_a_torn_object_during_overwrites(s3, bucket, server: S3dProcess):  # type: ignore[no-untyped-def]
    bodies = versions(1)
    known = {hashlib.md5(b).hexdigest() for b in bodies}
    s3.put_object(Bucket=bucket, Key="hot", Body=bodies[0])
    done = threading.Event()
    seen: list[set[str]] = [set() for _ in range(READERS)]
    bad: list[str] = []

    def write() -> None:
        try:
            for b in bodies[1:]:
                s3.put_object(Bucket=bucket, Key="hot", Body=b)
        finally:
            done.set()

    def read(n: int) -> None:
        deadline = time.monotonic() + DEADLINE
        for _ in range(MAX_READS):
            if done.is_set() or time.monotonic() > deadline:
                return
            got = s3.get_object(Bucket=bucket, Key="hot")
            body = got["Body"].read()
            md5 = hashlib.md5(body).hexdigest()
            if md5 not in known:
                bad.append(f"reader {n}: {len(body)} bytes that were never written")
            elif got["ETag"] != f'"{md5}"' or got["ContentLength"] != len(body):
                bad.append(f"reader {n}: headers of one version, bytes of another")
            seen[n].add(md5)

    with ThreadPoolExecutor(READERS + 1) as pool:
        futures = [pool.submit(write)] + [pool.submit(read, n) for n in range(READERS)]
        for f in futures:
            f.result(timeout=DEADLINE + 30)

    assert bad == []
    assert len(set().union(*seen)) > 1, "the readers must have overlapped the overwrites"
    final = s3.get_object(Bucket=bucket, Key="hot")
    assert final["Body"].read() == bodies[-1]
    assert final["ETag"] == f'"{hashlib.md5(bodies[-1]).hexdigest()}"'
    # every replaced version's blob is gone; only what metadata references stays
    assert blob_files(server.data) == referenced_blobs(server.data)


def test_concurrent_writers_to_one_key_leave_one_whole_version(s3, bucket, server: S3dProcess):  # type: ignore[no-untyped-def]
    a, b = versions(2), versions(3)
    last: dict[str, bytes] = {}

    def write(name: str, bodies: list[bytes]) -> None:
        for body in bodies:
            s3.put_object(Bucket=bucket, Key="contended", Body=body)
        last[name] = bodies[-1]

    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(write, "a", a), pool.submit(write, "b", b)]:
            f.result(timeout=DEADLINE)

    got = s3.get_object(Bucket=bucket, Key="contended")
    body = got["Body"].read()
    # both writers finished with their last version; whichever committed last is the object
    assert body in (last["a"], last["b"])
    assert got["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert blob_files(server.data) == referenced_blobs(server.data)
