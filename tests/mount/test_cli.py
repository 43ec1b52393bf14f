"""`s3d mount` and `s3d umount` on the command line: refusals in one line, before anything is mounted."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.mounts import Mount, require_fuse, s3d
from tests.support.server import S3dProcess


def test_mount_of_a_missing_bucket_is_refused(server: S3dProcess, tmp_path: Path) -> None:
    require_fuse()
    m = Mount(server, "no-such-bucket", tmp_path / "mnt")
    m.path.mkdir()
    r = s3d("mount", "no-such-bucket", str(m.path), "--endpoint", server.endpoint, env=m.env())
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == "s3d mount: no bucket 'no-such-bucket'"
    assert not os.path.ismount(m.path)


def test_mount_on_a_missing_directory_is_refused(server: S3dProcess, bucket: str, tmp_path: Path) -> None:
    require_fuse()
    m = Mount(server, bucket, tmp_path / "missing")
    r = s3d("mount", bucket, str(m.path), "--endpoint", server.endpoint, env=m.env())
    assert r.returncode == 1
    assert f"mount point {m.path} is not a directory" in r.stderr


def test_mount_with_a_negative_cache_time_is_a_usage_error(server: S3dProcess, bucket: str, tmp_path: Path) -> None:
    m = Mount(server, bucket, tmp_path / "mnt")
    r = s3d("mount", bucket, str(tmp_path), "--attr-cache", "-1", "--endpoint", server.endpoint, env=m.env())
    assert r.returncode == 2
    assert "--attr-cache must be at least 0" in r.stderr


def test_umount_of_what_is_not_mounted_fails(tmp_path: Path) -> None:
    require_fuse()
    r = s3d("umount", str(tmp_path))
    assert r.returncode == 1
    assert r.stderr.startswith("s3d umount: ")


def test_a_mount_twice_on_one_directory_is_refused(mount: Mount) -> None:
    r = s3d("mount", mount.source, str(mount.path), "--endpoint", mount.server.endpoint, env=mount.env())
    assert r.returncode == 1
    assert "is already a mount point" in r.stderr


def test_mount_with_no_read_cache_is_a_usage_error(server: S3dProcess, bucket: str, tmp_path: Path) -> None:
    m = Mount(server, bucket, tmp_path / "mnt")
    r = s3d("mount", bucket, str(tmp_path), "--read-cache", "0", "--endpoint", server.endpoint, env=m.env())
    assert r.returncode == 2
    assert "--read-cache must be at least 1 (MiB)" in r.stderr
