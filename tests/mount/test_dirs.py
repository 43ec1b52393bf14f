"""Directories: prefixes and markers, mkdir/rmdir, rename of files and directories, tar and mv."""

from __future__ import annotations

import errno
import os
import subprocess
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.mounts import Mount, require_fuse

DEADLINE = 15.0  # bound on polling loops (the attribute cache time is 1 s by default)


def keys(s3, bucket: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_directories_come_from_prefixes_and_markers(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="photos/2024/cat.jpg", Body=b"c")
    s3.put_object(Bucket=bucket, Key="empty/", Body=b"")  # a marker, as s3fs and the console make
    s3.put_object(Bucket=bucket, Key="top.txt", Body=b"t")
    assert sorted(os.listdir(mnt)) == ["empty", "photos", "top.txt"]
    assert (mnt / "photos").is_dir() and (mnt / "empty").is_dir() and (mnt / "top.txt").is_file()
    assert os.listdir(mnt / "photos") == ["2024"]
    assert os.listdir(mnt / "empty") == []
    assert (mnt / "photos" / "2024" / "cat.jpg").read_bytes() == b"c"


def test_ls_l_shows_sizes(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"d/f{i}", Body=b"x" * (i * 10))
    r = subprocess.run(["ls", "-l", str(mnt / "d")], capture_output=True, text=True, timeout=60)
    sizes = {line.split()[-1]: int(line.split()[4]) for line in r.stdout.splitlines()[1:]}
    assert sizes == {"f0": 0, "f1": 10, "f2": 20}


def test_a_listing_longer_than_one_kernel_reply_shows_every_entry_once(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    """READDIRPLUS hands a listing over in chunks (by offset): none is lost or repeated, each with its size."""
    names = [f"entry-with-a-longish-name-{i:05d}" for i in range(3000)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: s3.put_object(Bucket=bucket, Key=f"big/{n}", Body=n.encode()[-5:]), names))
    r = subprocess.run(["ls", "-l", str(mnt / "big")], capture_output=True, text=True, timeout=60)
    listed = [(line.split()[-1], int(line.split()[4])) for line in r.stdout.splitlines()[1:]]
    assert listed == [(n, 5) for n in names]


def test_a_listing_the_kernel_keeps_gives_way_to_every_change(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    """The kernel caches a listing and reuses it while the mount's own is unchanged: changes through the mount show
    at once, changes over S3 within the attribute cache time."""
    s3.put_object(Bucket=bucket, Key="d/a", Body=b"a")
    assert os.listdir(mnt / "d") == os.listdir(mnt / "d") == ["a"]  # the second is answered from the kernel's copy
    (mnt / "d" / "b").write_bytes(b"b")
    assert sorted(os.listdir(mnt / "d")) == ["a", "b"]
    os.rename(mnt / "d" / "b", mnt / "d" / "c")
    assert sorted(os.listdir(mnt / "d")) == ["a", "c"]
    (mnt / "d" / "c").unlink()
    assert os.listdir(mnt / "d") == ["a"]
    s3.delete_object(Bucket=bucket, Key="d/a")
    s3.put_object(Bucket=bucket, Key="d/over-s3", Body=b"s")
    deadline = time.monotonic() + DEADLINE
    while os.listdir(mnt / "d") != ["over-s3"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert os.listdir(mnt / "d") == ["over-s3"]


def test_a_repeated_listing_is_answered_by_the_kernel(server, bucket: str, s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The mount gives a directory's listing to the kernel once; the kernel answers the next opendir from its copy
    until the listing changes (a long attribute cache time: the test's pauses cannot expire it)."""
    require_fuse()
    s3.put_object(Bucket=bucket, Key="d/a", Body=b"a")
    m = Mount(server, bucket, tmp_path / "mnt", ["--attr-cache", "60"], log_level="debug").start()
    try:
        listings = [os.listdir(m.path / "d"), os.listdir(m.path / "d")]
        (m.path / "d" / "b").write_bytes(b"b")
        listings.append(sorted(os.listdir(m.path / "d")))
    finally:
        m.stop()
    assert listings == [["a"], ["a"], ["a", "b"]]
    given = [line for line in m.log.read_text().splitlines() if "listing of 'd' " in line]
    assert len(given) == 2, given  # the first listing, and the one after the change


def test_mkdir_makes_a_marker(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    (mnt / "new").mkdir()
    assert keys(s3, bucket) == ["new/"]
    assert (mnt / "new").is_dir()


def test_rmdir_of_a_directory_with_files_is_enotempty(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="full/file", Body=b"x")
    with pytest.raises(OSError) as e:
        os.rmdir(mnt / "full")
    assert e.value.errno == errno.ENOTEMPTY
    assert keys(s3, bucket) == ["full/file"]


def test_rmdir_removes_the_marker(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="bare/", Body=b"")
    os.rmdir(mnt / "bare")
    assert keys(s3, bucket) == []
    assert not (mnt / "bare").exists()


def test_mv_of_a_file_renames_the_object(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"payload", Metadata={"mtime": "1600000000.5"})
    assert subprocess.run(["mv", str(mnt / "a.txt"), str(mnt / "b.txt")], timeout=60).returncode == 0
    assert keys(s3, bucket) == ["b.txt"]
    got = s3.get_object(Bucket=bucket, Key="b.txt")
    assert got["Body"].read() == b"payload" and got["Metadata"]["mtime"] == "1600000000.5"


def test_rename_over_an_existing_file_replaces_it(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="new.txt", Body=b"new")
    s3.put_object(Bucket=bucket, Key="old.txt", Body=b"old")
    os.replace(mnt / "new.txt", mnt / "old.txt")
    assert keys(s3, bucket) == ["old.txt"]
    assert s3.get_object(Bucket=bucket, Key="old.txt")["Body"].read() == b"new"


def test_a_reader_of_a_file_renamed_over_keeps_the_old_content(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    (mnt / "new.txt").write_bytes(b"new" * 100)
    (mnt / "old.txt").write_bytes(b"old" * 100)
    with open(mnt / "old.txt", "rb") as f:
        os.rename(mnt / "new.txt", mnt / "old.txt")
        assert f.read() == b"old" * 100  # as on any filesystem: the open file is the replaced one
    assert (mnt / "old.txt").read_bytes() == b"new" * 100
    assert s3.get_object(Bucket=bucket, Key="old.txt")["Body"].read() == b"new" * 100


def test_rename_of_a_file_being_written(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    with open(mnt / "tmp.part", "wb") as f:
        f.write(b"first ")
        f.flush()
        os.rename(mnt / "tmp.part", mnt / "final.txt")
        f.write(b"second")
    assert keys(s3, bucket) == ["final.txt"]
    assert s3.get_object(Bucket=bucket, Key="final.txt")["Body"].read() == b"first second"


def test_mv_of_a_directory_moves_every_key(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    for k in ("src/", "src/a", "src/sub/b", "src/sub/deeper/c", "srcx"):
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    assert subprocess.run(["mv", str(mnt / "src"), str(mnt / "dst")], timeout=60).returncode == 0
    assert keys(s3, bucket) == ["dst/", "dst/a", "dst/sub/b", "dst/sub/deeper/c", "srcx"]
    assert s3.get_object(Bucket=bucket, Key="dst/sub/deeper/c")["Body"].read() == b"src/sub/deeper/c"
    assert (mnt / "dst" / "sub" / "b").read_bytes() == b"src/sub/b"


def test_rename_of_a_directory_onto_a_non_empty_one_is_enotempty(s3, bucket: str, mnt: Path) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="one/a", Body=b"1")
    s3.put_object(Bucket=bucket, Key="two/b", Body=b"2")
    with pytest.raises(OSError) as e:
        os.rename(mnt / "one", mnt / "two")
    assert e.value.errno == errno.ENOTEMPTY
    assert keys(s3, bucket) == ["one/a", "two/b"]


def test_tar_extract_and_create_round_trip(s3, bucket: str, mnt: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "tree"
    for i in range(40):
        p = tree / f"d{i % 4}" / f"sub{i % 3}" / f"f{i}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(i * 97))
    os.utime(tree / "d0" / "sub0" / "f0.txt", (1_500_000_000, 1_500_000_000))
    archive = tmp_path / "tree.tar"
    with tarfile.open(archive, "w") as t:
        t.add(tree, arcname="tree")
    assert subprocess.run(["tar", "-xf", str(archive), "-C", str(mnt)], timeout=120).returncode == 0
    assert subprocess.run(["diff", "-r", str(tree), str(mnt / "tree")], timeout=60).returncode == 0
    assert (mnt / "tree" / "d0" / "sub0" / "f0.txt").stat().st_mtime == 1_500_000_000
    assert len(keys(s3, bucket)) >= 40
    back = tmp_path / "back.tar"
    assert subprocess.run(["tar", "-cf", str(back), "-C", str(mnt), "tree"], timeout=120).returncode == 0
    with tarfile.open(back) as t:
        names = {m.name for m in t.getmembers() if m.isfile()}
    assert len(names) == 40


def test_a_prefix_mount_shows_only_that_prefix(s3, bucket: str, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.mounts import Mount, require_fuse

    require_fuse()
    s3.put_object(Bucket=bucket, Key="team/a/doc.txt", Body=b"doc")
    s3.put_object(Bucket=bucket, Key="other/secret.txt", Body=b"no")
    m = Mount(server, f"{bucket}/team", tmp_path / "team").start()
    try:
        assert os.listdir(m.path) == ["a"]
        (m.path / "a" / "new.txt").write_bytes(b"n")
        assert keys(s3, bucket) == ["other/secret.txt", "team/a/doc.txt", "team/a/new.txt"]
    finally:
        m.stop()
