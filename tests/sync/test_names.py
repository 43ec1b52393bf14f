"""Names and links one side allows and the other does not: a symlink never lets the sync write or read
outside the folder; a file whose name no S3 key can carry stays in the folder, skipped with a log line."""

from __future__ import annotations

import time
from pathlib import Path

from tests.sync.conftest import Synced, wait_until, write_file

QUIET = 1.0  # how long the tests watch for a write that must not happen


def test_an_object_under_a_symlinked_directory_is_not_written_outside_the_folder(synced: Synced) -> None:
    outside = synced.tmp / f"outside-{synced.folder.name}"
    outside.mkdir()
    (synced.folder / "out").symlink_to(outside, target_is_directory=True)
    synced.put("out/evil.txt", b"must not leave the folder")
    synced.put("out/deeper/evil.txt", b"must not leave the folder")
    synced.put("fine.txt", b"fine")
    wait_until(lambda: (synced.folder / "fine.txt").exists(), what="the other download")
    time.sleep(QUIET)
    assert list(outside.iterdir()) == []
    assert (synced.folder / "out").is_symlink()


def test_a_file_name_longer_than_an_s3_key_is_skipped(synced: Synced) -> None:
    deep = "/".join(["d" * 200] * 6)  # 1205 bytes: a valid path, too long for a key (1024 bytes)
    write_file(synced.folder / deep / "long.txt", b"too long a key")
    write_file(synced.folder / "short.txt", b"short")
    wait_until(lambda: synced.get("short.txt") == b"short", what="the other upload")
    time.sleep(QUIET)
    assert synced.keys() == ["short.txt"]
    assert f"sync skips {synced.prefix}{deep}/long.txt:" in synced.log()


def test_a_file_name_that_xml_cannot_carry_is_skipped(synced: Synced) -> None:
    write_file(synced.folder / "bell\x07.txt", b"a name no listing could show")
    write_file(synced.folder / "plain.txt", b"plain")
    wait_until(lambda: synced.get("plain.txt") == b"plain", what="the other upload")
    time.sleep(QUIET)
    assert synced.keys() == ["plain.txt"]


def test_a_local_symlink_is_not_replaced_by_an_object_of_its_name(synced: Synced, tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_bytes(b"the link's target")
    (synced.folder / "link.txt").symlink_to(target)
    synced.put("link.txt", b"an object with the link's name")
    synced.put("other.txt", b"other")
    wait_until(lambda: (synced.folder / "other.txt").exists(), what="the other download")
    time.sleep(QUIET)
    assert (synced.folder / "link.txt").is_symlink()
    assert target.read_bytes() == b"the link's target"
