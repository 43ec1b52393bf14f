"""A data dir on a small real filesystem (tmpfs) that fills up."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from s3d.store.errors import InsufficientStorage
from s3d.store.store import Store
from tests.conftest import client_for
from tests.support.faults import blob_files, fill, referenced_blobs, small_fs, tmp_files
from tests.support.server import S3dProcess
from tests.support.store import put_bytes

MIB = 1024 * 1024


@pytest.fixture
def full_server(tmp_path: Path) -> Iterator[S3dProcess]:
    """A daemon whose data dir is a 20 MiB tmpfs (the log stays outside it)."""
    with small_fs(tmp_path / "fs", 20) as mnt:
        proc = S3dProcess(mnt, workers=2).start()
        try:
            yield proc
        finally:
            proc.stop()


def client(proc: S3dProcess):  # type: ignore[no-untyped-def]
    return client_for(proc.endpoint, proc.access_key, proc.secret_key)


def put_until_refused(s3, bucket: str, size: int, limit: int) -> tuple[list[str], ClientError]:  # type: ignore[no-untyped-def]
    stored = []
    for i in range(limit):
        key = f"fill-{i:03d}"
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=random.Random(i).randbytes(size))
        except ClientError as e:
            return stored, e
        stored.append(key)
    raise AssertionError(f"{limit} PUTs of {size} bytes fit on a 20 MiB filesystem")


def test_disk_full_refuses_with_507_keeps_old_version_and_recovers(full_server: S3dProcess) -> None:
    s3 = client(full_server)
    data = full_server.data
    s3.create_bucket(Bucket="full")
    keep = random.Random(-1).randbytes(300 * 1024)
    s3.put_object(Bucket="full", Key="keep", Body=keep)

    stored, err = put_until_refused(s3, "full", MIB, limit=40)
    assert len(stored) >= 5
    # botocore found the code in an S3 XML error document
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 507
    assert err.response["Error"]["Code"] == "InsufficientStorage"
    assert tmp_files(data) == []

    with pytest.raises(ClientError) as over:
        s3.put_object(Bucket="full", Key="keep", Body=random.Random(-2).randbytes(2 * MIB))
    assert over.value.response["Error"]["Code"] == "InsufficientStorage"
    assert s3.get_object(Bucket="full", Key="keep")["Body"].read() == keep
    assert tmp_files(data) == []
    assert blob_files(data) == referenced_blobs(data), "a refused PUT left its blob behind"

    for key in stored[:4]:
        s3.delete_object(Bucket="full", Key=key)
    after = random.Random(-3).randbytes(2 * MIB)
    s3.put_object(Bucket="full", Key="after", Body=after)
    assert s3.get_object(Bucket="full", Key="after")["Body"].read() == after
    assert s3.get_object(Bucket="full", Key=stored[-1])["Body"].read() == random.Random(len(stored) - 1).randbytes(MIB)


def test_inline_put_into_the_metadata_reserve_is_refused_and_deletes_still_work(full_server: S3dProcess) -> None:
    s3 = client(full_server)
    data = full_server.data
    s3.create_bucket(Bucket="inline")
    s3.put_object(Bucket="inline", Key="old", Body=b"o" * 10_000)
    ballast = data / "ballast"  # not under tmp/ or blobs/: recovery and the store ignore it
    size = fill(ballast)
    # leave less free than the store's metadata reserve (1 MiB here), but not nothing
    with open(ballast, "r+b") as f:
        f.truncate(size - 256 * 1024)

    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="inline", Key="new", Body=b"n" * 10_000)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 507
    assert e.value.response["Error"]["Code"] == "InsufficientStorage"
    s3.delete_object(Bucket="inline", Key="old")  # a delete needs only metadata room
    with pytest.raises(ClientError):
        s3.get_object(Bucket="inline", Key="old")

    ballast.unlink()
    s3.put_object(Bucket="inline", Key="new", Body=b"n" * 10_000)
    assert s3.get_object(Bucket="inline", Key="new")["Body"].read() == b"n" * 10_000


def test_metadata_store_full_is_insufficient_storage_not_a_crash(tmp_path: Path) -> None:
    """SQLite itself hitting ENOSPC (SQLITE_FULL) comes back as InsufficientStorage; the store survives it."""
    with small_fs(tmp_path / "fs", 8) as mnt:
        store = Store(mnt)
        try:
            asyncio.run(_fill_metadata(store, mnt))
        finally:
            store.close()


async def _fill_metadata(store: Store, mnt: Path) -> None:
    await store.create_bucket("meta", "owner", "us-east-1")
    await put_bytes(store, "meta", b"before", b"before")
    ballast = mnt / "ballast"
    fill(ballast)
    value = "x" * 3000
    for i in range(20_000):  # metadata-only writes: no reserve check stands in the way
        try:
            await store.set_bucket_config("meta", f"item-{i}", value)
        except InsufficientStorage:
            break
    else:
        raise AssertionError("20,000 metadata writes fit on a full filesystem")
    obj = store.get_object("meta", b"before")
    assert obj is not None and obj.data == b"before"
    ballast.unlink()
    await store.set_bucket_config("meta", "after", value)
    bucket = store.get_bucket("meta")
    assert bucket is not None and bucket.config["after"] == value


def _status(call) -> int:  # type: ignore[no-untyped-def]
    try:
        return int(call()["ResponseMetadata"]["HTTPStatusCode"])
    except ClientError as e:
        return int(e.response["ResponseMetadata"]["HTTPStatusCode"])


def test_a_data_volume_filled_to_the_last_byte_does_not_stop_the_daemon(full_server: S3dProcess) -> None:
    s3 = client(full_server)
    s3.create_bucket(Bucket="brim")
    s3.put_object(Bucket="brim", Key="old", Body=b"o" * 200_000)
    ballast = full_server.data / "ballast"
    fill(ballast)  # another process takes every byte left
    # requests the daemon has not answered before (new metric label sets), each one answered
    assert _status(lambda: s3.head_object(Bucket="brim", Key="missing")) == 404
    assert _status(lambda: s3.get_object(Bucket="brim", Key="missing")) == 404
    assert _status(lambda: s3.put_object(Bucket="brim", Key="new", Body=b"n" * 200_000)) == 507
    assert _status(lambda: s3.list_objects_v2(Bucket="brim", Prefix="o")) == 200
    assert _status(lambda: s3.get_bucket_tagging(Bucket="brim")) == 404
    assert s3.get_object(Bucket="brim", Key="old")["Body"].read() == b"o" * 200_000
    assert _status(lambda: s3.delete_object(Bucket="brim", Key="old")) in (204, 507)  # no byte for the log
    assert full_server.proc is not None and full_server.proc.poll() is None
    ballast.unlink()
    assert _status(lambda: s3.delete_object(Bucket="brim", Key="old")) == 204


def test_a_daemon_killed_on_a_disk_it_filled_starts_again(tmp_path: Path) -> None:
    with small_fs(tmp_path / "fs", 20) as mnt:
        proc = S3dProcess(mnt, workers=2).start()
        try:
            s3 = client(proc)
            s3.create_bucket(Bucket="refill")
            stored, _ = put_until_refused(s3, "refill", MIB, limit=40)
            small = []
            for i in range(2000):  # inline objects, into the last room above the reserve
                try:
                    s3.put_object(Bucket="refill", Key=f"small-{i:04d}", Body=random.Random(i).randbytes(30_000))
                except ClientError:
                    break
                small.append(f"small-{i:04d}")
            for i in range(200):  # metadata-only writes stop at the reserve too
                try:
                    s3.create_multipart_upload(Bucket="refill", Key=f"mpu-{i}", Metadata={"m": "x" * 1900})
                except ClientError as e:
                    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 507
                    break
            proc.kill9()
            proc = S3dProcess(mnt, workers=2).start()
            s3 = client(proc)
            assert s3.get_object(Bucket="refill", Key=stored[-1])["Body"].read() == random.Random(
                len(stored) - 1
            ).randbytes(MIB)
            if small:
                assert s3.get_object(Bucket="refill", Key=small[-1])["Body"].read() == random.Random(
                    len(small) - 1
                ).randbytes(30_000)
            for key in stored[:3]:
                s3.delete_object(Bucket="refill", Key=key)
            s3.put_object(Bucket="refill", Key="after", Body=b"a" * MIB)
            assert s3.get_object(Bucket="refill", Key="after")["Body"].read() == b"a" * MIB
        finally:
            proc.stop()


def test_changes_that_only_add_metadata_stop_at_the_reserve_kept_for_deletes(full_server: S3dProcess) -> None:
    s3 = client(full_server)
    s3.create_bucket(Bucket="meta")
    s3.put_object(Bucket="meta", Key="old", Body=b"o" * 10_000)
    ballast = full_server.data / "ballast"
    size = fill(ballast)
    with open(ballast, "r+b") as f:  # leave less free than the reserve (1 MiB here), but not nothing
        f.truncate(size - 256 * 1024)
    tags = {"TagSet": [{"Key": "k", "Value": "v"}]}
    assert _status(lambda: s3.create_multipart_upload(Bucket="meta", Key="u")) == 507
    assert _status(lambda: s3.put_object_tagging(Bucket="meta", Key="old", Tagging=tags)) == 507
    assert _status(lambda: s3.put_bucket_tagging(Bucket="meta", Tagging=tags)) == 507
    assert _status(lambda: s3.create_bucket(Bucket="meta-2")) == 507
    assert _status(lambda: s3.delete_object(Bucket="meta", Key="old")) == 204
    ballast.unlink()
    assert _status(lambda: s3.create_multipart_upload(Bucket="meta", Key="u")) == 200


def test_a_daemon_killed_on_a_disk_another_process_filled_starts_again(tmp_path: Path) -> None:
    with small_fs(tmp_path / "fs", 20) as mnt:
        proc = S3dProcess(mnt, workers=2).start()
        try:
            s3 = client(proc)
            s3.create_bucket(Bucket="other")
            for i in range(50):
                s3.put_object(Bucket="other", Key=f"k{i}", Body=random.Random(i).randbytes(20_000))
            fill(mnt / "ballast")  # to the last byte
            proc.kill9()
            proc = S3dProcess(mnt, workers=2).start()
            s3 = client(proc)
            assert s3.get_object(Bucket="other", Key="k49")["Body"].read() == random.Random(49).randbytes(20_000)
            (mnt / "ballast").unlink()
            s3.put_object(Bucket="other", Key="after", Body=b"a")
        finally:
            proc.stop()
