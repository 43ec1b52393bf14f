"""`[[mount]]` entries in the daemon's TOML file: bound at start, unmounted at stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import boto3

from tests.conftest import client_for
from tests.support.mounts import require_fuse
from tests.support.server import S3dProcess

DEADLINE = 30.0


def wait_until(check, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_daemon_mounts_its_entries_and_unmounts_them_at_stop(tmp_path: Path) -> None:
    require_fuse()
    data, mnt, ro = tmp_path / "data", tmp_path / "mnt", tmp_path / "ro"
    mnt.mkdir()
    ro.mkdir()
    first = S3dProcess(data, workers=1).start()
    s3 = client_for(first.endpoint, first.access_key, first.secret_key)
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="docs/readme.txt", Body=b"hello")
    first.stop()
    config = tmp_path / "s3d.toml"
    config.write_text(
        f'[[mount]]\nsource = "shared"\nmountpoint = "{mnt}"\n'
        f'[[mount]]\nsource = "shared/docs"\nmountpoint = "{ro}"\nread_only = true\nattr_cache = 0.5\n'
    )
    daemon = S3dProcess(data, port=first.port, workers=2, args=["--config", str(config)]).start()
    try:
        wait_until(lambda: os.path.ismount(mnt) and os.path.ismount(ro), "the daemon's mounts did not appear")
        assert (ro / "readme.txt").read_bytes() == b"hello"
        (mnt / "new.txt").write_bytes(b"through the daemon's mount")
        assert s3.get_object(Bucket="shared", Key="new.txt")["Body"].read() == b"through the daemon's mount"
    finally:
        daemon.stop()
    assert not os.path.ismount(mnt) and not os.path.ismount(ro)


def test_a_wrong_mount_entry_is_refused_at_start(tmp_path: Path) -> None:
    config = tmp_path / "s3d.toml"
    config.write_text('[[mount]]\nsource = "b"\nmountpoint = "/mnt/x"\ncache = 3\n')
    r = subprocess.run([sys.executable, "-m", "s3d", "run", "--data", str(tmp_path / "d"), "--config", str(config)],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert "mount[0]: unknown setting(s) cache" in r.stderr


def test_a_mount_entry_with_a_wrong_read_cache_is_refused_at_start(tmp_path: Path) -> None:
    config = tmp_path / "s3d.toml"
    config.write_text('[[mount]]\nsource = "b"\nmountpoint = "/mnt/x"\nread_cache = "lots"\n')
    r = subprocess.run([sys.executable, "-m", "s3d", "run", "--data", str(tmp_path / "d"), "--config", str(config)],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert "mount[0]: read_cache must be a whole number of MiB, got 'lots'" in r.stderr


def test_the_daemons_mounts_sign_with_its_region(tmp_path: Path) -> None:
    """A daemon refuses signatures naming another region; its mounts name its own."""
    require_fuse()
    region = "eu-west-1"
    data, mnt = tmp_path / "data", tmp_path / "mnt"
    mnt.mkdir()
    first = S3dProcess(data, workers=1, args=["--region", region]).start()
    s3 = boto3.client(
        "s3", endpoint_url=first.endpoint, aws_access_key_id=first.access_key,
        aws_secret_access_key=first.secret_key, region_name=region,
    )  # fmt: skip
    s3.create_bucket(Bucket="regional", CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket="regional", Key="readme.txt", Body=b"hello")
    first.stop()
    config = tmp_path / "s3d.toml"
    config.write_text(f'[[mount]]\nsource = "regional"\nmountpoint = "{mnt}"\n')
    daemon = S3dProcess(data, port=first.port, workers=1, args=["--config", str(config), "--region", region]).start()
    try:
        wait_until(lambda: os.path.ismount(mnt), "the daemon's mount did not appear")
        assert (mnt / "readme.txt").read_bytes() == b"hello"
        (mnt / "new.txt").write_bytes(b"signed for eu-west-1")
        assert s3.get_object(Bucket="regional", Key="new.txt")["Body"].read() == b"signed for eu-west-1"
    finally:
        daemon.stop()
