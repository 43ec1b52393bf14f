"""A mount beside its daemon reads the daemon's blob files itself (s3d.local_read): the bytes are the object's,
no GET reaches the daemon, and an object the mount cannot read that way (encrypted, inline, or the mount told
not to) is read over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.observe.scrape import scrape
from tests.support.mounts import Mount, require_fuse
from tests.support.server import S3dProcess

MIB = 1024 * 1024
PART = 5 * MIB


def gets(server: S3dProcess) -> float:
    """GetObject requests the daemon has answered so far, any status."""
    return sum(
        v
        for (name, labels), v in scrape(server.endpoint).items()
        if name == "s3d_requests_total" and ("operation", "GetObject") in labels
    )


def read(path: Path) -> bytes:
    with open(path, "rb", buffering=0) as f:
        return f.read()


@pytest.fixture
def http_only(server: S3dProcess, bucket: str, tmp_path: Path) -> Iterator[Path]:
    require_fuse()
    m = Mount(server, bucket, tmp_path / "http", flags=["--no-local-read"]).start()
    try:
        yield m.path
    finally:
        m.stop()


def test_a_read_beside_the_daemon_sends_no_get(s3, server: S3dProcess, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(3 * MIB + 17)
    s3.put_object(Bucket=bucket, Key="local.bin", Body=data)
    before = gets(server)
    assert read(mnt / "local.bin") == data
    assert gets(server) == before


def test_a_multipart_object_reads_across_its_part_files(s3, server: S3dProcess, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    parts = [os.urandom(PART), os.urandom(PART), os.urandom(12_345)]
    up = s3.create_multipart_upload(Bucket=bucket, Key="parts.bin")["UploadId"]
    done = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(Bucket=bucket, Key="parts.bin", UploadId=up, PartNumber=n, Body=p)["ETag"],
        }
        for n, p in enumerate(parts, 1)
    ]
    s3.complete_multipart_upload(Bucket=bucket, Key="parts.bin", UploadId=up, MultipartUpload={"Parts": done})
    before = gets(server)
    fd = os.open(mnt / "parts.bin", os.O_RDONLY)
    try:
        across = os.pread(fd, 2 * PART, PART - 100)  # the end of part 1, all of part 2, the start of part 3
    finally:
        os.close(fd)
    whole = b"".join(parts)
    assert across == whole[PART - 100 : 3 * PART - 100]
    assert read(mnt / "parts.bin") == whole
    assert gets(server) == before


def test_an_open_file_keeps_reading_its_version_after_an_overwrite(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    old, new = os.urandom(2 * MIB), os.urandom(2 * MIB)
    s3.put_object(Bucket=bucket, Key="kept.bin", Body=old)
    with open(mnt / "kept.bin", "rb", buffering=0) as f:
        first = f.read(MIB)
        s3.put_object(Bucket=bucket, Key="kept.bin", Body=new)
        rest = f.read()
    assert first + rest == old
    assert read(mnt / "kept.bin") == new  # a new open sees the new version


def test_an_encrypted_object_is_read_over_http(s3, server: S3dProcess, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(MIB + 5)
    s3.put_object(Bucket=bucket, Key="sealed.bin", Body=data, ServerSideEncryption="AES256")
    before = gets(server)
    assert read(mnt / "sealed.bin") == data  # the plaintext, never the blob's ciphertext
    assert gets(server) > before


def test_no_local_read_reads_over_http(s3, server: S3dProcess, bucket: str, http_only: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(MIB + 3)
    s3.put_object(Bucket=bucket, Key="remote.bin", Body=data)
    before = gets(server)
    assert read(http_only / "remote.bin") == data
    assert gets(server) > before
