"""Files through the mount, with real tools, checked over S3 (and the other way round)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.mounts import Mount

MIB = 1024 * 1024


def body(s3, bucket: str, key: str) -> bytes:  # type: ignore[no-untyped-def]
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def run(*cmd: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=60)


def test_cp_into_the_mount_is_the_object_after_close(s3, bucket: str, mnt: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(300_000))
    assert run("cp", str(src), str(mnt / "copied.bin")).returncode == 0
    assert body(s3, bucket, "copied.bin") == src.read_bytes()


def test_cat_reads_an_object_written_over_s3(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(200_000)
    s3.put_object(Bucket=bucket, Key="over-s3.bin", Body=data)
    r = subprocess.run(["cat", str(mnt / "over-s3.bin")], capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == data


def test_sequential_read_of_a_large_object(s3, bucket: str, mnt: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(40 * MIB + 12345)  # crosses every read-ahead size
    s3.put_object(Bucket=bucket, Key="big.bin", Body=data)
    (tmp_path / "big.bin").write_bytes(data)
    assert run("cmp", str(mnt / "big.bin"), str(tmp_path / "big.bin")).returncode == 0


def test_random_reads_return_the_bytes_at_their_offsets(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    import random

    data = os.urandom(8 * MIB)
    s3.put_object(Bucket=bucket, Key="random.bin", Body=data)
    rng = random.Random(7)
    fd = os.open(mnt / "random.bin", os.O_RDONLY | os.O_DIRECT) if hasattr(os, "O_DIRECT") else -1
    try:
        for _ in range(200):
            off, n = rng.randrange(len(data)), rng.choice((1, 4096, 70_000))
            assert os.pread(fd, n, off) == data[off : off + n]
    finally:
        os.close(fd)


def test_overwrite_with_shorter_content(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="f.txt", Body=b"a long first version\n")
    (mnt / "f.txt").write_bytes(b"short\n")
    assert body(s3, bucket, "f.txt") == b"short\n"


def test_append_with_the_shell(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="log.txt", Body=b"one\n")
    assert run("sh", "-c", f"echo two >> {mnt / 'log.txt'}").returncode == 0
    assert body(s3, bucket, "log.txt") == b"one\ntwo\n"


def test_truncate_shrinks_and_extends_with_zeros(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="t.bin", Body=b"0123456789")
    os.truncate(mnt / "t.bin", 4)
    assert body(s3, bucket, "t.bin") == b"0123"
    assert run("truncate", "-s", "8", str(mnt / "t.bin")).returncode == 0
    assert body(s3, bucket, "t.bin") == b"0123\0\0\0\0"


def test_random_writes_in_place(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="r.bin", Body=b"x" * 100)
    with open(mnt / "r.bin", "r+b") as f:
        f.seek(10)
        f.write(b"HELLO")
        f.seek(98)
        f.write(b"END!")  # past the old end
    assert body(s3, bucket, "r.bin") == b"x" * 10 + b"HELLO" + b"x" * 83 + b"END!"


def test_a_new_file_that_grows_past_the_memory_staging_keeps_every_byte(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    """Staged in memory while small, then in a staging file: holes, overwrites and reads on both sides of the move."""
    head, tail = os.urandom(300_000), os.urandom(2 * MIB)
    with open(mnt / "grown.bin", "w+b") as f:
        f.write(head)
        f.seek(400_000)  # a hole, still in memory
        f.write(b"MID")
        f.seek(1_500_000)  # past MEMORY_STAGE_MAX: moves to a staging file
        f.write(tail)
        f.seek(10)
        f.write(b"OVER")
        f.seek(0)
        read_back = f.read()
    want = head[:10] + b"OVER" + head[14:] + bytes(100_000) + b"MID" + bytes(1_099_997) + tail
    assert read_back == want
    assert body(s3, bucket, "grown.bin") == want


def test_a_truncated_new_file_reads_back_shrunk_then_zero_extended(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    with open(mnt / "cut.bin", "w+b") as f:
        f.write(b"abcdefgh")
        f.truncate(3)
        f.truncate(6)
        f.seek(0)
        assert f.read() == b"abc\0\0\0"
    assert body(s3, bucket, "cut.bin") == b"abc\0\0\0"


def test_fsync_makes_the_object_before_close(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    with open(mnt / "synced.txt", "wb") as f:
        f.write(b"durable")
        f.flush()
        os.fsync(f.fileno())
        assert body(s3, bucket, "synced.txt") == b"durable"
        f.write(b" and more")
    assert body(s3, bucket, "synced.txt") == b"durable and more"


def test_unwritten_file_is_not_an_object_until_close(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    with open(mnt / "pending.txt", "wb") as f:
        f.write(b"not yet")
        f.flush()  # to the kernel (Python's buffer), not a close
        assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
        assert (mnt / "pending.txt").stat().st_size == 7
        assert "pending.txt" in os.listdir(mnt)


def test_rm_deletes_the_object(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"x")
    assert run("rm", str(mnt / "gone.txt")).returncode == 0
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    assert not (mnt / "gone.txt").exists()


def test_a_file_removed_while_open_does_not_come_back(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    with open(mnt / "doomed.txt", "wb") as f:
        f.write(b"written")
        os.unlink(mnt / "doomed.txt")
        f.write(b" after unlink")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_file_removed_while_open_keeps_its_content_for_its_handles(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="kept.txt", Body=b"hello")
    fd = os.open(mnt / "kept.txt", os.O_RDWR)  # not read nor written before the unlink
    try:
        os.unlink(mnt / "kept.txt")
        os.pwrite(fd, b"J", 0)
        assert os.pread(fd, 100, 0) == b"Jello"
    finally:
        os.close(fd)
    assert "kept.txt" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_a_change_of_a_file_replaced_over_s3_since_its_open_is_estale(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="raced.txt", Body=b"the version opened")
    fd = os.open(mnt / "raced.txt", os.O_RDWR)
    try:
        s3.put_object(Bucket=bucket, Key="raced.txt", Body=b"newer")
        with pytest.raises(OSError) as e:
            os.pwrite(fd, b"X", 0)  # its staging would start from another version than the one opened
        assert e.value.errno == errno.ESTALE
    finally:
        os.close(fd)
    assert body(s3, bucket, "raced.txt") == b"newer"


def test_dd_write_then_read_back(s3, bucket: str, mnt: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "dd.src"
    src.write_bytes(os.urandom(9 * MIB))
    assert run("dd", f"if={src}", f"of={mnt / 'dd.bin'}", "bs=1M", "status=none").returncode == 0
    assert body(s3, bucket, "dd.bin") == src.read_bytes()
    out = tmp_path / "dd.out"
    assert run("dd", f"if={mnt / 'dd.bin'}", f"of={out}", "bs=64k", "status=none").returncode == 0
    assert out.read_bytes() == src.read_bytes()


def test_a_mount_that_dies_before_close_leaves_the_old_object(s3, bucket: str, mount: Mount) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="keep.txt", Body=b"old content")
    pid = mount.pid()  # found before the open: a fork while the file is open would close a copy of it (a flush)
    f = open(mount.path / "keep.txt", "r+b")  # noqa: SIM115 - left open on purpose: the mount dies under it
    f.write(b"NEW")
    f.flush()  # to the kernel, not a close
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(OSError):
        f.close()
    assert body(s3, bucket, "keep.txt") == b"old content"
