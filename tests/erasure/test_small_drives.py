"""Drives that are real small filesystems (size-limited tmpfs mounts, as root): one fills up, one turns
read-only, while the daemon runs; writes go on and every object reads back whole."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_for
from tests.erasure.conftest import pool_args, pool_status, wait_for
from tests.support.server import S3dProcess

BUCKET = "small"
SMALL_DRIVE = "6m"  # room for a few shards above its 1 MiB metadata reserve
OBJECT = 3 << 20
PROBE_FILE = "probe"  # the file a drive probe writes and removes in DRIVE/tmp


def _mount(path: Path, *options: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(("size=" + SMALL_DRIVE, *options)), "tmpfs", str(path)],
                          capture_output=True)  # fmt: skip


@pytest.fixture
def small_drive(drives: list[Path]) -> Iterator[Path]:
    """drives[3] is a 6 MiB tmpfs of its own."""
    d = drives[3]
    d.mkdir(parents=True)
    if os.geteuid() != 0 or _mount(d).returncode != 0:
        pytest.skip("needs root and mount(8) to make a small tmpfs drive")
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


@pytest.fixture
def small_pool(tmp_path: Path, drives: list[Path], small_drive: Path) -> Iterator[S3dProcess]:
    proc = S3dProcess(tmp_path / "data", workers=1, args=pool_args(drives)).start()
    yield proc
    proc.stop()


def test_a_full_drive_leaves_service_and_writes_go_on(small_pool: S3dProcess, small_drive: Path) -> None:
    s3 = client_for(small_pool.endpoint, small_pool.access_key, small_pool.secret_key)
    s3.create_bucket(Bucket=BUCKET)
    bodies = {f"k{i}": os.urandom(OBJECT) for i in range(10)}  # 10 x 0.75 MiB shards: more than the drive holds
    for key, body in bodies.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    for key, body in bodies.items():
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    wait_for(
        lambda: pool_status(small_pool.data).get("drives", [{}] * 4)[3].get("state") == "full", "the drive to show full"
    )
    # no partial shard left behind (the healer's drive probe comes and goes there)
    assert [p.name for p in (small_drive / "tmp").iterdir() if p.name != PROBE_FILE] == []


def test_a_drive_turned_read_only_leaves_service_and_writes_go_on(small_pool: S3dProcess, small_drive: Path) -> None:
    s3 = client_for(small_pool.endpoint, small_pool.access_key, small_pool.secret_key)
    s3.create_bucket(Bucket=BUCKET)
    before = os.urandom(OBJECT)
    s3.put_object(Bucket=BUCKET, Key="before", Body=before)
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_drive)], capture_output=True).returncode == 0
    after = os.urandom(OBJECT)
    s3.put_object(Bucket=BUCKET, Key="after", Body=after)
    assert s3.get_object(Bucket=BUCKET, Key="before")["Body"].read() == before
    assert s3.get_object(Bucket=BUCKET, Key="after")["Body"].read() == after
    wait_for(lambda: pool_status(small_pool.data).get("degraded") is True, "the status to say degraded")
    assert pool_status(small_pool.data)["drives"][3]["state"] == "failed"
