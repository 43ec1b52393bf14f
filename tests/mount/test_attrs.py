"""stat through the mount: metadata written by rclone and s3fs, Last-Modified otherwise; changes over S3 show."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

DEADLINE = 15.0  # bound on polling loops (the attribute cache time is 1 s by default)


def test_mtime_from_rclone_metadata(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="r.txt", Body=b"r", Metadata={"Mtime": "1600000000.25"})
    assert (mnt / "r.txt").stat().st_mtime_ns == 1_600_000_000_250_000_000


def test_mode_uid_gid_and_mtime_from_s3fs_metadata(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    meta = {"mtime": "1500000000", "mode": str(stat.S_IFREG | 0o640), "uid": "1234", "gid": "5678"}
    s3.put_object(Bucket=bucket, Key="s.txt", Body=b"s", Metadata=meta)
    st = (mnt / "s.txt").stat()
    assert (st.st_mtime, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (1_500_000_000, 0o640, 1234, 5678)
    assert stat.S_ISREG(st.st_mode)


def test_mtime_is_last_modified_without_metadata(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"p")
    last_modified = s3.head_object(Bucket=bucket, Key="plain.txt")["LastModified"].timestamp()
    assert (mnt / "plain.txt").stat().st_mtime == last_modified


def test_chmod_and_touch_are_stored_as_metadata(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    (mnt / "f.txt").write_bytes(b"content")
    os.chmod(mnt / "f.txt", 0o600)
    os.utime(mnt / "f.txt", (1_400_000_000, 1_400_000_000))
    head = s3.head_object(Bucket=bucket, Key="f.txt")
    assert head["Metadata"]["mode"] == str(stat.S_IFREG | 0o600)
    assert float(head["Metadata"]["mtime"]) == 1_400_000_000
    assert s3.get_object(Bucket=bucket, Key="f.txt")["Body"].read() == b"content"


def test_an_object_written_over_s3_appears(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    assert os.listdir(mnt) == []  # the mount has now seen (and cached) the empty listing
    assert not (mnt / "late.txt").exists()
    s3.put_object(Bucket=bucket, Key="late.txt", Body=b"late")
    deadline = time.monotonic() + DEADLINE
    while "late.txt" not in os.listdir(mnt) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert os.listdir(mnt) == ["late.txt"]
    assert (mnt / "late.txt").read_bytes() == b"late"


def test_an_object_replaced_over_s3_is_read_anew(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="v.txt", Body=b"version one")
    assert (mnt / "v.txt").read_bytes() == b"version one"
    s3.put_object(Bucket=bucket, Key="v.txt", Body=b"version two, longer")
    deadline = time.monotonic() + DEADLINE
    while (mnt / "v.txt").read_bytes() != b"version two, longer" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (mnt / "v.txt").read_bytes() == b"version two, longer"


def test_a_listed_file_shows_its_metadata_mtime_once_looked_up(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="d/r.txt", Body=b"r", Metadata={"mtime": "1300000000"})
    assert os.listdir(mnt / "d") == ["r.txt"]  # the listing: no user metadata in it
    deadline = time.monotonic() + DEADLINE
    while (mnt / "d" / "r.txt").stat().st_mtime != 1_300_000_000 and time.monotonic() < deadline:
        time.sleep(0.2)  # once the cached listing is older than the attribute cache time, a lookup asks
    assert (mnt / "d" / "r.txt").stat().st_mtime == 1_300_000_000
