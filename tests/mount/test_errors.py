"""S3 errors as errno, the daemon dying under the mount, and what the mount refuses."""

from __future__ import annotations

import errno
import fcntl
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_for
from tests.support.faults import small_fs
from tests.support.mounts import Mount, require_fuse, s3d
from tests.support.server import S3dProcess

MIB = 1024 * 1024


def errno_of(fn, *args) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(OSError) as e:
        fn(*args)
    return int(e.value.errno or 0)


def test_missing_file_is_enoent(mnt: Path) -> None:
    assert errno_of(open, mnt / "nothing.txt") == errno.ENOENT


def test_a_name_too_long_for_s3_is_enametoolong(mnt: Path) -> None:
    assert errno_of(open, mnt / ("n" * 300), "wb") == errno.ENAMETOOLONG
    deep = mnt
    for i in range(5):  # each component fits; the key (over 1024 bytes) does not
        deep = deep / (f"{i}" * 250)
    assert errno_of(os.makedirs, deep) == errno.ENAMETOOLONG


def test_a_name_that_is_not_utf8_is_absent_and_cannot_be_created(mnt: Path) -> None:
    bad = os.fsencode(mnt) + b"/caf\xe9.txt"  # latin-1: S3 keys are UTF-8
    assert errno_of(os.stat, bad) == errno.ENOENT
    assert errno_of(os.open, bad, os.O_WRONLY | os.O_CREAT) == errno.EILSEQ
    assert errno_of(os.mkdir, bad) == errno.EILSEQ
    (mnt / "ok.txt").write_bytes(b"x")
    assert errno_of(os.rename, mnt / "ok.txt", bad) == errno.EILSEQ
    assert (mnt / "ok.txt").read_bytes() == b"x"


def test_file_locks_are_refused(mnt: Path) -> None:
    with open(mnt / "locked", "wb") as f:
        assert errno_of(fcntl.lockf, f, fcntl.LOCK_EX | fcntl.LOCK_NB) == errno.ENOLCK
        assert errno_of(fcntl.flock, f, fcntl.LOCK_EX | fcntl.LOCK_NB) == errno.ENOLCK


def test_read_only_mount_refuses_writes(s3, server: S3dProcess, bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    require_fuse()
    s3.put_object(Bucket=bucket, Key="ro.txt", Body=b"ro")
    m = Mount(server, bucket, tmp_path / "ro", ["--read-only"]).start()
    try:
        assert (m.path / "ro.txt").read_bytes() == b"ro"
        assert errno_of(open, m.path / "ro.txt", "ab") == errno.EROFS
        assert errno_of(os.mkdir, m.path / "d") == errno.EROFS
        assert errno_of(os.unlink, m.path / "ro.txt") == errno.EROFS
    finally:
        m.stop()
    assert s3.get_object(Bucket=bucket, Key="ro.txt")["Body"].read() == b"ro"


@pytest.fixture
def two_users(tmp_path: Path) -> Iterator[S3dProcess]:
    require_fuse()
    config = tmp_path / "s3d.toml"
    config.write_text(
        '[[users]]\nname = "alice"\naccess_key = "AKALICE"\nsecret_key = "alice-secret-0123456789"\n'
        '[[users]]\nname = "bob"\naccess_key = "AKBOB"\nsecret_key = "bob-secret-0123456789"\n'
    )
    proc = S3dProcess(tmp_path / "data", workers=1, args=["--config", str(config)],
                      access_key="AKALICE", secret_key="alice-secret-0123456789").start()  # fmt: skip
    yield proc
    proc.stop()


def test_access_denied_is_eacces(two_users: S3dProcess, tmp_path: Path) -> None:
    alice = client_for(two_users.endpoint, "AKALICE", "alice-secret-0123456789")
    alice.create_bucket(Bucket="alices")
    alice.put_object(Bucket="alices", Key="private.txt", Body=b"mine")
    m = Mount(two_users, "alices", tmp_path / "bob", access_key="AKBOB", secret_key="bob-secret-0123456789").start()
    try:
        assert errno_of(os.listdir, m.path) == errno.EACCES
        assert errno_of(open, m.path / "private.txt") == errno.EACCES
    finally:
        m.stop()


def test_full_disk_is_enospc(tmp_path: Path) -> None:
    require_fuse()
    with small_fs(tmp_path / "fs", 20) as data:
        proc = S3dProcess(data, workers=1).start()
        m = None
        try:
            client_for(proc.endpoint, proc.access_key, proc.secret_key).create_bucket(Bucket="full")
            m = Mount(proc, "full", tmp_path / "mnt").start()
            f = open(m.path / "huge.bin", "wb")  # noqa: SIM115 - the error comes at close
            f.write(os.urandom(30 * MIB))
            assert errno_of(f.close) == errno.ENOSPC
        finally:
            if m is not None:
                m.stop()
            proc.stop()


def test_the_daemon_dying_gives_eio_and_umount_still_works(fresh_server: S3dProcess, tmp_path: Path) -> None:
    require_fuse()
    s3 = client_for(fresh_server.endpoint, fresh_server.access_key, fresh_server.secret_key)
    s3.create_bucket(Bucket="dies")
    s3.put_object(Bucket="dies", Key="a.txt", Body=b"a")
    m = Mount(fresh_server, "dies", tmp_path / "mnt", ["--timeout", "3", "--attr-cache", "0"]).start()
    assert (m.path / "a.txt").read_bytes() == b"a"
    fresh_server.kill9()
    r = subprocess.run(["cat", str(m.path / "a.txt")], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "Input/output error" in r.stderr
    assert errno_of(os.listdir, m.path) == errno.EIO
    assert s3d("umount", str(m.path)).returncode == 0
    assert not os.path.ismount(m.path)
