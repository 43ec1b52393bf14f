"""An erasure-coded pool (4+2 over six directories): lose up to M drives, bit rot, more losses than parity."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.erasure.conftest import (
    HEADER_SIZE,
    RECORD_HEAD,
    K,
    M,
    drive_of,
    flip_bit,
    pool_status,
    shards,
    wait_for,
    wipe,
)
from tests.support.server import S3dProcess

BUCKET = "pool"
SIZE = 3 * (1 << 20) + 12345  # four stripes, the last one short


@pytest.fixture
def data() -> bytes:
    return os.urandom(SIZE)


def test_shards_on_distinct_drives(pool_s3, drives: list[Path], data: bytes) -> None:  # type: ignore[no-untyped-def]
    pool_s3.create_bucket(Bucket=BUCKET)
    pool_s3.put_object(Bucket=BUCKET, Key="k", Body=data)
    found = shards(drives)
    assert sorted(found) == list(range(K + M))
    assert len({drive_of(drives, p) for p in found.values()}) == K + M
    assert pool_s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == data


def test_ranged_read_across_stripes(pool_s3, data: bytes) -> None:  # type: ignore[no-untyped-def]
    pool_s3.create_bucket(Bucket=BUCKET)
    pool_s3.put_object(Bucket=BUCKET, Key="k", Body=data)
    got = pool_s3.get_object(Bucket=BUCKET, Key="k", Range="bytes=1048570-3145735")["Body"].read()
    assert got == data[1048570:3145736]
    tail = pool_s3.get_object(Bucket=BUCKET, Key="k", Range="bytes=-100")["Body"].read()
    assert tail == data[-100:]


def test_m_drives_wiped_bytes_identical_then_healed(  # type: ignore[no-untyped-def]
    pool_s3, pool_server: S3dProcess, drives: list[Path], data: bytes
) -> None:
    pool_s3.create_bucket(Bucket=BUCKET)
    pool_s3.put_object(Bucket=BUCKET, Key="k", Body=data)
    before = shards(drives)
    original = {i: before[i].read_bytes() for i in (0, K)}
    lost = [drive_of(drives, before[0]), drive_of(drives, before[K])]  # a data shard's drive and a parity one's
    for d in lost:
        wipe(d)
    assert pool_s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == data  # reconstructed; queued for healing
    wait_for(lambda: len(shards(drives)) == K + M, "the healer to rebuild the wiped shards")
    healed = shards(drives)
    assert {i: healed[i].read_bytes() for i in (0, K)} == original  # rebuilt exactly as written
    others = [d for d in drives if d not in lost][:M]  # lose M more: only the healed shards make it readable
    for d in others:
        wipe(d)
    assert pool_s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == data


def test_flipped_bit_detected_served_right_repaired_counted(  # type: ignore[no-untyped-def]
    pool_s3, pool_server: S3dProcess, drives: list[Path], data: bytes
) -> None:
    pool_s3.create_bucket(Bucket=BUCKET)
    pool_s3.put_object(Bucket=BUCKET, Key="k", Body=data)
    shard = shards(drives)[1]  # a data shard: every full read uses it
    original = shard.read_bytes()
    flip_bit(shard, HEADER_SIZE + RECORD_HEAD + 1000)
    assert pool_s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == data
    wait_for(lambda: shard.read_bytes() == original, "the healer to rewrite the damaged shard")
    wait_for(lambda: pool_status(pool_server.data).get("heal", {}).get("healed_shards") == 1, "the heal to be counted")
    assert pool_status(pool_server.data)["heal"]["damaged_shards"] == 1


def test_more_than_m_lost_is_a_clean_error(  # type: ignore[no-untyped-def]
    pool_s3, pool_server: S3dProcess, drives: list[Path], data: bytes
) -> None:
    pool_s3.create_bucket(Bucket=BUCKET)
    pool_s3.put_object(Bucket=BUCKET, Key="k", Body=data)
    for p in list(shards(drives).values())[: M + 1]:
        wipe(drive_of(drives, p))
    with pytest.raises(ClientError) as e:
        pool_s3.get_object(Bucket=BUCKET, Key="k")
    assert e.value.response["Error"]["Code"] == "InternalError"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    log = (pool_server.data.parent / f"s3d-{pool_server.port}.log").read_text()
    assert "cannot be read" in log


def test_bit_rot_beyond_parity_never_serves_wrong_bytes(  # type: ignore[no-untyped-def]
    pool_s3, drives: list[Path], data: bytes
) -> None:
    pool_s3.create_bucket(Bucket=BUCKET)
    pool_s3.put_object(Bucket=BUCKET, Key="k", Body=data)
    for p in list(shards(drives).values())[: M + 1]:
        flip_bit(p, HEADER_SIZE + RECORD_HEAD + 7)  # stripe 0 of three shards
    with pytest.raises(ClientError) as e:
        pool_s3.get_object(Bucket=BUCKET, Key="k", Range="bytes=0-99")
    assert e.value.response["Error"]["Code"] == "InternalError"
    # stripes the damage does not reach still read
    assert (
        pool_s3.get_object(Bucket=BUCKET, Key="k", Range="bytes=2097152-2097251")["Body"].read()
        == data[2097152:2097252]
    )
