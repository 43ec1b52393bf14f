"""A folder that vanishes or is suddenly emptied never wipes the bucket; max_delete stops a large run;
a file excluded by the filter is not deleted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.conftest import MARKER, SETTLE, Synced, remove, rename, start_synced, wait_until, write_file

FILES = {f"photos/f{i}.txt": f"file {i}".encode() for i in range(5)}
QUIET = 1.0  # how long the tests watch for a deletion that must not happen


@pytest.fixture
def filled(own_synced: Synced) -> Synced:
    for name, data in FILES.items():
        write_file(own_synced.folder / name, data)
    wait_until(lambda: own_synced.file_keys() == sorted(FILES), timeout=SETTLE, what="the uploads")
    wait_until(own_synced.settled, what="the pair settling")
    return own_synced


def test_an_emptied_folder_pauses_the_pair_and_deletes_nothing(filled: Synced) -> None:
    rename(filled.folder / "photos", filled.tmp / "photos-elsewhere")  # everything gone at once
    wait_until(lambda: filled.status()["paused"], what="the pause")
    assert "suddenly empty" in filled.status()["last_error"]
    time.sleep(QUIET)
    assert filled.file_keys() == sorted(FILES)


def test_a_vanished_folder_pauses_the_pair_and_deletes_nothing(filled: Synced) -> None:
    remove(filled.folder)
    wait_until(lambda: filled.status()["paused"], what="the pause")
    assert "missing" in filled.status()["last_error"]
    time.sleep(QUIET)
    assert filled.file_keys() == sorted(FILES)


def test_a_folder_back_without_its_marker_stays_paused(filled: Synced) -> None:
    remove(filled.folder)
    filled.folder.mkdir()  # e.g. the mount point of a disk that is not mounted
    write_file(filled.folder / "stray.txt", b"stray")
    wait_until(lambda: filled.status()["paused"] and MARKER in filled.status()["last_error"], what="the pause")
    time.sleep(QUIET)
    assert filled.file_keys() == sorted(FILES)
    assert filled.files() == {"stray.txt": b"stray"}  # and nothing came down into the wrong folder


def test_status_reports_a_paused_pair_and_the_cli_exits_1(filled: Synced) -> None:
    remove(filled.folder)
    wait_until(lambda: filled.status()["paused"], what="the pause")
    r = filled.cli("sync", "status")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "PAUSED" in r.stdout


# three of them in one directory, so one rename takes all three out at once (an `rm` of three files is three
# unlinks, and a sync pass between them deletes within the limit each time)
LIMITED = {"old/a.txt": b"a", "old/b.txt": b"b", "old/c.txt": b"c", "keep/d.txt": b"d", "keep/e.txt": b"e"}


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Synced]:
    config = tmp_path / "s3d.toml"
    folder = tmp_path / "folder"
    config.write_text(f'[[sync]]\ndir = "{folder}"\nbucket = "sync-bucket"\nmax_delete = "2"\n')
    s = start_synced(tmp_path, "--config", str(config), via_flag=False)
    for name, data in LIMITED.items():
        write_file(s.folder / name, data)
    wait_until(lambda: s.file_keys() == sorted(LIMITED), timeout=SETTLE, what="the uploads")
    wait_until(s.settled, what="the pair settling")
    yield s
    s.stop()


def test_a_run_deleting_more_than_max_delete_stops_and_reports(limited: Synced) -> None:
    rename(limited.folder / "old", limited.tmp / "old-elsewhere")
    # a refused run is reported, not propagated: the 2 s promise is for changes
    wait_until(lambda: "max_delete" in (limited.status()["last_error"] or ""), timeout=SETTLE, what="the report")
    assert "would delete 3 files" in limited.status()["last_error"]
    time.sleep(QUIET)
    assert limited.file_keys() == sorted(LIMITED)


def test_deletes_within_max_delete_go_through(limited: Synced) -> None:
    remove(limited.folder / "keep")
    wait_until(lambda: limited.file_keys() == ["old/a.txt", "old/b.txt", "old/c.txt"], what="the deletes")


@pytest.fixture
def filtered(tmp_path: Path) -> Iterator[Synced]:
    s = start_synced(tmp_path, "--sync-filter", "- */**.tmp")
    yield s
    s.stop()


def test_files_excluded_by_the_filter_are_neither_synced_nor_deleted(filtered: Synced) -> None:
    write_file(filtered.folder / "scratch.tmp", b"local only")
    filtered.put("remote.tmp", b"bucket only")
    write_file(filtered.folder / "kept.txt", b"synced")
    wait_until(lambda: filtered.get("kept.txt") == b"synced", what="the upload")
    time.sleep(QUIET)
    assert filtered.file_keys() == ["kept.txt", "remote.tmp"]
    assert filtered.files() == {"kept.txt": b"synced", "scratch.tmp": b"local only"}


def test_an_object_encrypted_at_rest_is_not_copied_into_the_folder(own_synced: Synced) -> None:
    own_synced.put("secret.txt", b"ciphertext at rest", ServerSideEncryption="AES256")
    own_synced.put("plain.txt", b"plain")
    wait_until(lambda: (own_synced.folder / "plain.txt").exists(), what="the plain download")
    time.sleep(QUIET)
    assert own_synced.files() == {"plain.txt": b"plain"}
    assert own_synced.file_keys() == ["plain.txt", "secret.txt"]


def test_a_bucket_with_default_encryption_pauses_the_pair(own_synced: Synced) -> None:
    own_synced.s3.put_bucket_encryption(
        Bucket=own_synced.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    write_file(own_synced.folder / "a.txt", b"would be stored unencrypted")
    wait_until(lambda: own_synced.status()["paused"], what="the pause")
    assert "default encryption" in own_synced.status()["last_error"]
    assert own_synced.file_keys() == []
