"""s3fs / fsspec against a real s3d: listing, globbing, ranged reads through file objects, writes, conditional creates."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.support.clients import md5_hex, multipart_etag, s3fs_filesystem, split, tree_files, write_tree
from tests.support.server import S3dProcess

MiB = 1024 * 1024


@pytest.fixture
def fs(server: S3dProcess):  # type: ignore[no-untyped-def]
    return s3fs_filesystem(server)


FILES = {
    "d/a.txt": b"alpha\n",
    "d/b.csv": b"x,y\n1,2\n",
    "d/sub/c.txt": b"charlie\n",
    "d/sub/deep/e.csv": b"e,f\n3,4\n",
    "d/with space \u00fc.txt": "unicode \u00fc\n".encode(),
    "top.bin": os.urandom(100_000),
}


def test_pipe_ls_glob_find_cat(fs, bucket: str) -> None:  # type: ignore[no-untyped-def]
    fs.pipe({f"{bucket}/{k}": v for k, v in FILES.items()})

    assert sorted(fs.ls(bucket, detail=False)) == [f"{bucket}/d", f"{bucket}/top.bin"]
    entries = {e["name"]: e for e in fs.ls(f"{bucket}/d", detail=True)}
    assert sorted(entries) == [f"{bucket}/d/{n}" for n in ["a.txt", "b.csv", "sub", "with space \u00fc.txt"]]
    assert entries[f"{bucket}/d/sub"]["type"] == "directory"
    assert entries[f"{bucket}/d/a.txt"]["type"] == "file"
    assert entries[f"{bucket}/d/a.txt"]["size"] == len(FILES["d/a.txt"])

    assert fs.glob(f"{bucket}/d/*.txt") == [f"{bucket}/d/a.txt", f"{bucket}/d/with space \u00fc.txt"]
    assert fs.glob(f"{bucket}/**/*.csv") == [f"{bucket}/d/b.csv", f"{bucket}/d/sub/deep/e.csv"]
    assert fs.find(bucket) == sorted(f"{bucket}/{k}" for k in FILES)
    assert fs.du(f"{bucket}/d") == sum(len(v) for k, v in FILES.items() if k.startswith("d/"))

    info = fs.info(f"{bucket}/top.bin")
    assert info["size"] == len(FILES["top.bin"]) and info["type"] == "file"
    assert info["ETag"] == f'"{md5_hex(FILES["top.bin"])}"'
    assert fs.isdir(f"{bucket}/d/sub") and not fs.isfile(f"{bucket}/d/sub")
    assert fs.exists(f"{bucket}/d/sub/c.txt") and not fs.exists(f"{bucket}/d/nope.txt")

    assert fs.cat_file(f"{bucket}/d/with space \u00fc.txt") == FILES["d/with space \u00fc.txt"]
    got = fs.cat(fs.find(f"{bucket}/d"))
    assert got == {f"{bucket}/{k}": v for k, v in FILES.items() if k.startswith("d/")}
    top = FILES["top.bin"]
    assert fs.cat_file(f"{bucket}/top.bin", start=10, end=5000) == top[10:5000]
    assert fs.cat_file(f"{bucket}/top.bin", start=-300) == top[-300:]
    assert fs.cat_ranges([f"{bucket}/top.bin"] * 2, [0, 99_990], [4, 100_000]) == [top[:4], top[99_990:]]
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{bucket}/d/nope.txt")


def test_open_read_with_seeks(fs, bucket: str, s3) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(1 * MiB + 123)
    s3.put_object(Bucket=bucket, Key="r/blob", Body=data)
    with fs.open(f"{bucket}/r/blob", "rb", block_size=64 * 1024) as f:
        assert f.size == len(data)
        assert f.read(10) == data[:10]
        f.seek(500_000)
        assert f.read(70_000) == data[500_000:570_000]
        assert f.tell() == 570_000
        f.seek(-1000, io.SEEK_END)
        assert f.read() == data[-1000:]
        f.seek(100)
        f.seek(50, io.SEEK_CUR)
        assert f.read(1) == data[150:151]
        f.seek(0)
        assert f.read() == data
    # text mode, line by line
    s3.put_object(Bucket=bucket, Key="r/lines.txt", Body=b"one\ntwo\nthree\n")
    with fs.open(f"{bucket}/r/lines.txt", "r") as f:
        assert list(f) == ["one\n", "two\n", "three\n"]


def test_put_get_tree_and_rm(fs, bucket: str, s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    local = dict(FILES)
    src = tmp_path / "src"
    write_tree(src, local)
    fs.put(f"{src}/", f"{bucket}/up/", recursive=True)
    assert fs.find(f"{bucket}/up") == sorted(f"{bucket}/up/{k}" for k in local)
    dst = tmp_path / "dst"
    fs.get(f"{bucket}/up/", f"{dst}/", recursive=True)
    assert tree_files(dst) == local

    fs.rm(f"{bucket}/up/top.bin")
    assert not fs.exists(f"{bucket}/up/top.bin")
    fs.rm(f"{bucket}/up/d/sub", recursive=True)  # DeleteObjects
    assert fs.find(f"{bucket}/up") == sorted(
        f"{bucket}/up/{k}" for k in local if k != "top.bin" and not k.startswith("d/sub/")
    )
    fs.rm(f"{bucket}/up", recursive=True)
    assert fs.find(bucket) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_copy_and_move(fs, bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(80_000)
    fs.pipe_file(f"{bucket}/c/src.bin", data)
    fs.copy(f"{bucket}/c/src.bin", f"{bucket}/c/copy.bin")  # CopyObject
    fs.mv(f"{bucket}/c/copy.bin", f"{bucket}/m/moved.bin")
    assert fs.find(bucket) == [f"{bucket}/c/src.bin", f"{bucket}/m/moved.bin"]
    assert fs.cat_file(f"{bucket}/m/moved.bin") == data


def test_write_file_multipart(fs, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """Writing through a file object with a 5 MiB block size: parts go up as the buffer fills."""
    chunks = [os.urandom(3 * MiB) for _ in range(4)]  # 12 MiB in 3 MiB writes
    data = b"".join(chunks)
    with fs.open(f"{bucket}/w/big.bin", "wb", block_size=5 * MiB) as f:
        for c in chunks:
            f.write(c)
    assert fs.cat_file(f"{bucket}/w/big.bin") == data
    info = fs.info(f"{bucket}/w/big.bin")
    assert info["size"] == len(data)
    assert info["ETag"].strip('"').endswith("-2") or info["ETag"].strip('"').endswith("-3")
    assert fs.find(bucket) == [f"{bucket}/w/big.bin"]


def test_pipe_file_create_mode(fs, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """mode="create" sends If-None-Match: * ; the second create must fail and leave the first object alone."""
    path = f"{bucket}/x/once.txt"
    fs.pipe_file(path, b"first", mode="create")
    with pytest.raises(FileExistsError):
        fs.pipe_file(path, b"second", mode="create")
    assert fs.cat_file(path) == b"first"
    # an ordinary write still overwrites
    fs.pipe_file(path, b"third")
    assert fs.cat_file(path) == b"third"


def test_pipe_file_create_mode_multipart(fs, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """Above 2 chunks pipe_file goes multipart, with If-None-Match: * on CompleteMultipartUpload."""
    path = f"{bucket}/x/big-once.bin"
    data = os.urandom(11 * MiB)
    fs.pipe_file(path, data, mode="create", chunksize=5 * MiB)
    assert fs.info(path)["ETag"] == f'"{multipart_etag(split(data, 5 * MiB))}"'
    with pytest.raises(FileExistsError):
        fs.pipe_file(path, os.urandom(11 * MiB), mode="create", chunksize=5 * MiB)
    assert fs.cat_file(path) == data


def test_open_exclusive_create(fs, bucket: str) -> None:  # type: ignore[no-untyped-def]
    path = f"{bucket}/x/excl.txt"
    with fs.open(path, "xb") as f:
        f.write(b"mine")
    with pytest.raises(FileExistsError):
        with fs.open(path, "xb") as f:
            f.write(b"theirs")
    assert fs.cat_file(path) == b"mine"
