"""A directory rename against a write landing at its worst moment (in-process: the mount's filesystem over a
real daemon, with the write injected right after the rename copies a key; no kernel mount needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from s3d.mount.fs import S3Filesystem
from s3d.mount.objects import Objects
from s3d.mount.settings import MountSettings, Target


class WriteAfterCopy(Objects):
    """The mount's objects, with another writer's PUT of ``race_key`` landing just after the rename copied it."""

    race_key = ""
    race_body = b""

    def copy_if(self, src_key: str, dst_key: str, src_etag: str) -> str | None:
        etag = super().copy_if(src_key, dst_key, src_etag)
        if src_key == self.race_key and self.race_body:
            self.s3.put_object(Bucket=self.bucket, Key=src_key, Body=self.race_body)
            self.race_body = b""  # once
        return etag


@pytest.fixture
def fs(s3: Any, bucket: str, tmp_path: Path) -> Iterator[tuple[S3Filesystem, WriteAfterCopy]]:
    settings = MountSettings(Target(bucket, ""), tmp_path / "mnt", local_read=False)
    objects = WriteAfterCopy(s3, settings)
    (tmp_path / "staging").mkdir()
    f = S3Filesystem(objects, settings, tmp_path / "staging")
    yield f, objects
    f.destroy("/")


def test_a_write_landing_between_copy_and_delete_of_a_directory_rename_is_kept(
    s3: Any, bucket: str, fs: tuple[S3Filesystem, WriteAfterCopy]
) -> None:
    f, objects = fs
    s3.put_object(Bucket=bucket, Key="d/a.txt", Body=b"old a")
    s3.put_object(Bucket=bucket, Key="d/b.txt", Body=b"b")
    objects.race_key, objects.race_body = "d/a.txt", b"written during the rename"
    f.rename("/d", "/e")
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert listed == ["e/a.txt", "e/b.txt"]
    assert s3.get_object(Bucket=bucket, Key="e/a.txt")["Body"].read() == b"written during the rename"
