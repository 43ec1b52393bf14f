"""Reads through the mount's block cache: sequential and random reads return the object's bytes, also when the
cache is much smaller than the object (blocks are given up and fetched again)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mount.test_files import run
from tests.support.mounts import Mount, require_fuse
from tests.support.server import S3dProcess

MIB = 1024 * 1024
SMALL_CACHE_MIB = 4
PAGE = 4096


@pytest.fixture
def small(server: S3dProcess, bucket: str, tmp_path: Path) -> Iterator[Path]:
    """The bucket mounted with a read cache of a few blocks."""
    require_fuse()
    m = Mount(server, bucket, tmp_path / "small", flags=["--read-cache", str(SMALL_CACHE_MIB)]).start()
    try:
        yield m.path
    finally:
        m.stop()


def random_reads(path: Path, data: bytes, count: int, seed: int) -> None:
    rng = random.Random(seed)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # the kernel asks for what is read, page by page
        for _ in range(count):
            off = rng.randrange(len(data) // PAGE) * PAGE
            assert os.pread(fd, PAGE, off) == data[off : off + PAGE]
    finally:
        os.close(fd)


def test_many_random_reads_fill_the_cache_and_stay_right(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(24 * MIB + 999)
    s3.put_object(Bucket=bucket, Key="filled.bin", Body=data)
    random_reads(mnt / "filled.bin", data, 400, seed=1)  # enough misses that the whole object is fetched


def test_random_reads_with_a_cache_smaller_than_the_object(s3, bucket: str, small: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(24 * MIB + 999)
    s3.put_object(Bucket=bucket, Key="evicted.bin", Body=data)
    random_reads(small / "evicted.bin", data, 300, seed=2)


def test_sequential_read_with_a_cache_smaller_than_the_object(s3, bucket: str, small: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(24 * MIB + 999)
    s3.put_object(Bucket=bucket, Key="streamed.bin", Body=data)
    (tmp_path / "expected.bin").write_bytes(data)
    assert run("cmp", str(small / "streamed.bin"), str(tmp_path / "expected.bin")).returncode == 0


def test_two_readers_of_one_file_at_different_places(s3, bucket: str, small: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(12 * MIB)
    s3.put_object(Bucket=bucket, Key="two.bin", Body=data)
    with open(small / "two.bin", "rb", buffering=0) as a, open(small / "two.bin", "rb", buffering=0) as b:
        b.seek(6 * MIB)
        got_a, got_b = bytearray(), bytearray()
        while chunk := a.read(MIB // 2):
            got_a += chunk
            got_b += b.read(MIB // 2)
    assert bytes(got_a) == data
    assert bytes(got_b) == data[6 * MIB :]
