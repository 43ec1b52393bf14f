"""Changes on either side reach the other within the promised 2 s (files written by other processes)."""

from __future__ import annotations

import os
import time

from tests.sync.conftest import PROPAGATION, Synced, remove, rename, wait_until, write_file


def test_a_new_file_reaches_the_bucket(synced: Synced) -> None:
    write_file(synced.folder / "notes/a.txt", b"hello from a file")
    wait_until(lambda: synced.get("notes/a.txt") == b"hello from a file", what="the upload")


def test_the_file_mtime_is_kept_in_rclones_metadata_name(synced: Synced) -> None:
    write_file(synced.folder / "a.bin", b"x" * 100)
    mtime_ns = os.stat(synced.folder / "a.bin").st_mtime_ns
    wait_until(lambda: synced.get("a.bin") is not None, what="the upload")
    meta = synced.s3.head_object(Bucket=synced.bucket, Key=synced.key("a.bin"))["Metadata"]
    assert meta["mtime"] == f"{mtime_ns // 10**9}.{mtime_ns % 10**9:09d}"


def test_a_modified_file_replaces_the_object(synced: Synced) -> None:
    write_file(synced.folder / "a.txt", b"version 1")
    wait_until(lambda: synced.get("a.txt") == b"version 1", what="the first upload")
    write_file(synced.folder / "a.txt", b"version 2, longer")
    wait_until(lambda: synced.get("a.txt") == b"version 2, longer", what="the second upload")


def test_a_renamed_file_moves_in_the_bucket(synced: Synced) -> None:
    write_file(synced.folder / "old.txt", b"moving")
    wait_until(lambda: synced.keys() == ["old.txt"], what="the upload")
    rename(synced.folder / "old.txt", synced.folder / "new.txt")
    wait_until(lambda: synced.keys() == ["new.txt"], what="the rename")
    assert synced.get("new.txt") == b"moving"


def test_a_deleted_file_leaves_the_bucket(synced: Synced) -> None:
    write_file(synced.folder / "keep.txt", b"keep")
    write_file(synced.folder / "gone.txt", b"gone")
    wait_until(lambda: synced.keys() == ["gone.txt", "keep.txt"], what="the uploads")
    remove(synced.folder / "gone.txt")
    wait_until(lambda: synced.keys() == ["keep.txt"], what="the delete")


def test_an_object_put_over_s3_appears_as_a_file_with_its_mtime(synced: Synced) -> None:
    synced.put("from/s3.txt", b"written over S3", Metadata={"mtime": "1700000000.25"})
    path = synced.folder / "from/s3.txt"
    wait_until(lambda: path.exists() and path.read_bytes() == b"written over S3", what="the download")
    assert os.stat(path).st_mtime_ns == 1_700_000_000_250_000_000


def test_an_object_overwritten_over_s3_replaces_the_file(synced: Synced) -> None:
    path = synced.folder / "o.txt"
    synced.put("o.txt", b"one")
    wait_until(lambda: path.exists() and path.read_bytes() == b"one", what="the first download")
    synced.put("o.txt", b"two, longer")
    wait_until(lambda: path.read_bytes() == b"two, longer", what="the second download")


def test_an_object_deleted_over_s3_removes_the_file_and_its_emptied_directory(synced: Synced) -> None:
    synced.put("d/x.txt", b"x")
    synced.put("y.txt", b"y")
    wait_until(lambda: (synced.folder / "d/x.txt").exists() and (synced.folder / "y.txt").exists(), what="downloads")
    synced.delete("d/x.txt")
    wait_until(lambda: not (synced.folder / "d").exists(), what="the delete")
    assert synced.files() == {"y.txt": b"y"}
    time.sleep(0.5)
    assert synced.keys() == ["y.txt"]  # the emptied directory did not come back as a marker


def test_an_empty_directory_becomes_a_marker_object(synced: Synced) -> None:
    (synced.folder / "empty/inner").mkdir(parents=True)
    wait_until(lambda: synced.keys() == ["empty/inner/"], what="the marker upload")


def test_a_marker_object_becomes_an_empty_directory(synced: Synced) -> None:
    synced.put("made/over/s3/", b"")
    wait_until(lambda: (synced.folder / "made/over/s3").is_dir(), what="the directory")


def test_a_file_still_being_written_is_never_shipped_half_written(synced: Synced) -> None:
    path = synced.folder / "growing.log"
    chunks = [bytes([65 + i]) * 4096 for i in range(8)]
    seen: set[int] = set()
    with open(path, "wb") as f:  # this process writes; the daemon is another process
        for chunk in chunks:
            f.write(chunk)
            f.flush()
            for _ in range(10):  # 0.2 s between chunks, looking meanwhile
                got = synced.get("growing.log")
                if got is not None:
                    seen.add(len(got))
                time.sleep(0.02)
    wait_until(lambda: synced.get("growing.log") == b"".join(chunks), what="the upload")
    assert seen <= {len(b"".join(chunks))}


def test_a_reader_never_sees_a_partial_download(synced: Synced) -> None:
    data = os.urandom(24 << 20)
    synced.put("big.bin", data)
    path = synced.folder / "big.bin"
    sizes: set[int] = set()
    deadline = time.monotonic() + PROPAGATION * 5
    while time.monotonic() < deadline:
        if path.exists():
            sizes.add(path.stat().st_size)
            if path.read_bytes() == data:
                break
        time.sleep(0.005)
    assert sizes == {len(data)}
    assert path.read_bytes() == data
    assert [p.name for p in synced.folder.iterdir() if p.name.startswith(".s3d-sync.tmp")] == []


def test_symlinks_and_sockets_are_skipped_with_one_log_line_each(synced: Synced) -> None:
    import socket

    write_file(synced.folder / "real.txt", b"real")
    (synced.folder / "link.txt").symlink_to(synced.folder / "real.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(synced.folder / "s.sock"))
    try:
        wait_until(lambda: synced.keys() == ["real.txt"], what="the upload")
        write_file(synced.folder / "other.txt", b"more")  # another run
        wait_until(lambda: synced.keys() == ["other.txt", "real.txt"], what="the second upload")
        log = synced.log()
        assert log.count(f"sync skips {synced.prefix}link.txt:") == 1
        assert log.count(f"sync skips {synced.prefix}s.sock:") == 1
    finally:
        sock.close()


def test_an_object_with_an_mtime_no_file_can_have_comes_down_with_its_upload_time(synced: Synced) -> None:
    synced.put("far.txt", b"from the far future", Metadata={"mtime": "99999999999999999999.5"})
    path = synced.folder / "far.txt"
    wait_until(lambda: path.exists() and path.read_bytes() == b"from the far future", what="the download")
    assert abs(path.stat().st_mtime - time.time()) < 3600
    write_file(synced.folder / "after.txt", b"later")
    wait_until(lambda: synced.get("after.txt") == b"later", what="the next upload")
    wait_until(synced.settled, what="the pair settling")
