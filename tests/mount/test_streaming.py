"""Files written in order go up while they are written (a multipart upload, completed at close); anything else
falls back to one upload of the whole file at close. Either way the object appears only at close."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.mount.test_files import body

MIB = 1024 * 1024
PART = 16 * MIB  # the mount's first part size: files this large are streamed
CHUNK = MIB
UPLOADS_GONE_WAIT = 10.0  # an upload given up is aborted in the background


def write_in_order(fd: int, data: bytes) -> None:
    for i in range(0, len(data), CHUNK):
        os.write(fd, data[i : i + CHUNK])


def exists(s3, bucket: str, key: str) -> bool:  # type: ignore[no-untyped-def]
    return any(o["Key"] == key for o in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", []))


def no_uploads_left(s3, bucket: str) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + UPLOADS_GONE_WAIT
    while s3.list_multipart_uploads(Bucket=bucket).get("Uploads"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_file_written_in_order_is_the_object_at_close_and_not_before(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(2 * PART + 5 * MIB + 123)
    fd = os.open(mnt / "seq.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        write_in_order(fd, data)
        assert not exists(s3, bucket, "seq.bin")  # parts went up, the object is not there yet
    finally:
        os.close(fd)
    head = s3.head_object(Bucket=bucket, Key="seq.bin")
    assert head["ETag"].strip('"').endswith("-3")  # two parts while writing, the last one at close
    assert head["Metadata"]["mode"] == str(0o100640)
    assert body(s3, bucket, "seq.bin") == data
    assert no_uploads_left(s3, bucket)


def test_a_write_into_what_was_sent_falls_back_to_the_whole_file(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(os.urandom(2 * PART + MIB))
    fd = os.open(mnt / "patched.bin", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_in_order(fd, bytes(data))
        os.pwrite(fd, b"patched", 100)
        data[100:107] = b"patched"
    finally:
        os.close(fd)
    head = s3.head_object(Bucket=bucket, Key="patched.bin")
    assert "-" not in head["ETag"]  # one PutObject
    assert body(s3, bucket, "patched.bin") == bytes(data)
    assert no_uploads_left(s3, bucket)


def test_a_chmod_while_streaming_is_kept(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(PART + 3 * MIB)
    fd = os.open(mnt / "moded.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_in_order(fd, data)
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    head = s3.head_object(Bucket=bucket, Key="moded.bin")
    assert head["Metadata"]["mode"] == str(0o100600)
    assert body(s3, bucket, "moded.bin") == data
    assert no_uploads_left(s3, bucket)


def test_fsync_while_streaming_makes_the_object_then_close_the_rest(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    first, rest = os.urandom(PART + 2 * MIB), os.urandom(PART + 7)
    fd = os.open(mnt / "synced.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_in_order(fd, first)
        os.fsync(fd)
        assert body(s3, bucket, "synced.bin") == first
        write_in_order(fd, rest)
    finally:
        os.close(fd)
    assert body(s3, bucket, "synced.bin") == first + rest
    assert no_uploads_left(s3, bucket)


def test_a_file_removed_while_streaming_never_becomes_an_object(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    fd = os.open(mnt / "gone.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_in_order(fd, os.urandom(PART + MIB))
        os.unlink(mnt / "gone.bin")
    finally:
        os.close(fd)
    assert not exists(s3, bucket, "gone.bin")
    assert no_uploads_left(s3, bucket)
