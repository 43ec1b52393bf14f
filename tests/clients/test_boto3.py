"""boto3 with its default configuration (CRC32 checksums, s3transfer): the sizes users move."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

MiB = 1024 * 1024


@pytest.mark.parametrize("size", [1, 5 * MiB, 100 * MiB], ids=["1B", "5MiB", "100MiB"])
def test_upload_file_and_download_file(s3, bucket: str, tmp_path: Path, size: int) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    with open(src, "wb") as f:
        f.write(os.urandom(min(size, MiB)) * max(1, size // MiB))
        f.truncate(size)
    s3.upload_file(str(src), bucket, "f")  # default TransferConfig: multipart above 8 MiB
    head = s3.head_object(Bucket=bucket, Key="f")
    assert head["ContentLength"] == size
    if size > 8 * MiB:
        assert head["ETag"].strip('"').endswith(f"-{-(-size // (8 * MiB))}")
    dst = tmp_path / "dst"
    s3.download_file(bucket, "f", str(dst))  # ranged GETs in parallel, CRC32 validated
    assert hashlib.md5(dst.read_bytes()).digest() == hashlib.md5(src.read_bytes()).digest()


@pytest.mark.parametrize("size", [1, 5 * MiB], ids=["1B", "5MiB"])
def test_put_object_and_get_object(s3, bucket: str, size: int) -> None:  # type: ignore[no-untyped-def]
    body = os.urandom(size)
    r = s3.put_object(Bucket=bucket, Key="p", Body=body)
    assert "ChecksumCRC32" in r  # boto3 sent one by default and s3d echoed it
    got = s3.get_object(Bucket=bucket, Key="p", ChecksumMode="ENABLED")
    assert got["Body"].read() == body


def test_managed_copy_uses_upload_part_copy(s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """A copy above the multipart threshold goes part by part (as a >5 GiB copy must)."""
    body = os.urandom(12 * MiB + 7)
    s3.put_object(Bucket=bucket, Key="src", Body=body)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.copy({"Bucket": bucket, "Key": "src"}, bucket, "dst", Config=cfg)
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ETag"].strip('"').endswith("-3")
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == body
