"""`s3d mount --filter`: the mount shows only what the filter includes (docs/filters.md)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.support.mounts import Mount, require_fuse, s3d
from tests.support.server import S3dProcess


def test_a_filtered_mount_shows_only_what_the_filter_includes(
    s3, server: S3dProcess, bucket: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    require_fuse()
    for key, size in (("keep.txt", 10), ("scratch.tmp", 10), ("logs/big.log", 5000), ("logs/small.log", 10)):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * size)
    m = Mount(server, bucket, tmp_path / "mnt", ["--filter", "- */**.tmp; - [size>1KiB]"]).start()
    try:
        assert sorted(os.listdir(m.path)) == ["keep.txt", "logs"]
        assert os.listdir(m.path / "logs") == ["small.log"]
        with pytest.raises(OSError) as e:
            (m.path / "scratch.tmp").read_bytes()
        assert e.value.errno == errno.ENOENT
        assert (m.path / "keep.txt").read_bytes() == b"x" * 10
    finally:
        m.stop()


def test_a_filter_on_tags_is_refused(server: S3dProcess, bucket: str, tmp_path: Path) -> None:
    m = Mount(server, bucket, tmp_path / "mnt")
    r = s3d(
        "mount", bucket, str(tmp_path), "--filter", "- *[tag:secret=yes]", "--endpoint", server.endpoint, env=m.env()
    )
    assert r.returncode == 2
    assert "the mount decides from listings, which carry no tag: conditions" in r.stderr
