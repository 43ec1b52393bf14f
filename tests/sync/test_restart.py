"""Stopping and killing the daemon: changes made meanwhile are reconciled at start; a kill -9 in the
middle of a sync loses nothing, duplicates nothing and leaves no partial file."""

from __future__ import annotations

import os
import time

from tests.sync.conftest import SETTLE, Synced, remove, wait_until, write_file

TEMP = ".s3d-sync.tmp."


def agree(s: Synced) -> bool:
    files = s.files()
    return sorted(files) == s.file_keys() and all(s.get(k) == v for k, v in files.items())


def temp_files(s: Synced) -> list[str]:
    return [p.name for p in s.folder.rglob(f"{TEMP}*")]


def test_folder_changes_made_while_stopped_are_reconciled_at_start(own_synced: Synced) -> None:
    s = own_synced
    for name in ("keep.txt", "change.txt", "drop.txt"):
        write_file(s.folder / name, name.encode())
    wait_until(lambda: s.keys() == ["change.txt", "drop.txt", "keep.txt"], what="the uploads")
    wait_until(s.settled, what="settling")
    s.stop()
    write_file(s.folder / "change.txt", b"changed while stopped")
    remove(s.folder / "drop.txt")
    write_file(s.folder / "new.txt", b"new while stopped")
    s.start()
    wait_until(lambda: s.keys() == ["change.txt", "keep.txt", "new.txt"], what="reconciliation")
    assert s.get("change.txt") == b"changed while stopped"
    assert s.get("new.txt") == b"new while stopped"


def test_kill9_during_uploads_loses_nothing_and_duplicates_nothing(own_synced: Synced) -> None:
    s = own_synced
    tree = {f"d{i % 10}/f{i}.bin": os.urandom(8192 + i) for i in range(200)}
    tree["big.bin"] = os.urandom(24 << 20)
    for path, data in tree.items():
        (s.folder / path).parent.mkdir(exist_ok=True)
        (s.folder / path).write_bytes(data)
    wait_until(lambda: len(s.file_keys()) > 0, timeout=SETTLE, what="the first uploads")
    assert s.proc is not None
    s.proc.kill9()
    s.start()
    wait_until(lambda: s.file_keys() == sorted(tree), timeout=SETTLE * 2, what="convergence")
    assert all(s.get(k) == v for k, v in tree.items())
    assert sorted(s.files()) == sorted(tree)  # no conflict copies, nothing extra


def test_kill9_during_downloads_leaves_no_partial_file(own_synced: Synced) -> None:
    s = own_synced
    objects = {f"o{i}.bin": os.urandom(4096 + i) for i in range(150)}
    objects["big.bin"] = os.urandom(32 << 20)
    s.put("big.bin", objects["big.bin"])
    for k, v in objects.items():
        if k != "big.bin":
            s.put(k, v)
    assert s.proc is not None
    s.proc.kill9()
    for name, data in s.files().items():  # what is there is whole
        assert data == objects[name], name
    s.start()
    wait_until(lambda: s.files() == objects, timeout=SETTLE * 2, what="convergence")
    time.sleep(0.5)
    assert temp_files(s) == []
    assert s.keys() == sorted(objects)
