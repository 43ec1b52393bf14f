"""Both sides changed since the last sync: nothing is lost. Each case is set up in a subdirectory of its
own while the pair is paused (its marker taken away), then the pair resumes and resolves them all."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.conftest import SETTLE, Synced, remove, rename, start_synced, wait_until, write_file

HOUR = 3600


def conflict_copies(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    stem, ext = os.path.splitext(name)
    return {k: v for k, v in files.items() if k.startswith(f"{stem}.sync-conflict-") and k.endswith(ext)}


def both_sides(s: Synced) -> tuple[dict[str, bytes], dict[str, bytes]]:
    files = s.files()
    objects = {k: s.get(k) or b"" for k in s.keys() if not k.endswith("/")}
    return files, objects


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Synced]]:
    s = start_synced(tmp_path_factory.mktemp("conflicts"))
    cases = {name: s.view(name) for name in
             ("remote_newer", "local_newer", "edit_delete", "delete_edit", "delete_delete", "rename_edit")}  # fmt: skip
    for v in cases.values():
        write_file(v.folder / "a.txt", b"base")
    for v in cases.values():
        wait_until(lambda v=v: v.get("a.txt") == b"base", what="the base uploads")  # type: ignore[misc]
    time.sleep(0.5)
    s.pause()
    now = time.time()

    def edit_local(v: Synced, data: bytes, mtime: float) -> None:
        write_file(v.folder / "a.txt", data)
        os.utime(v.folder / "a.txt", (mtime, mtime))

    edit_local(cases["remote_newer"], b"local edit, older", now - HOUR)
    cases["remote_newer"].put("a.txt", b"remote edit, newer")
    edit_local(cases["local_newer"], b"local edit, newer", now + HOUR)
    cases["local_newer"].put("a.txt", b"remote edit, older")
    edit_local(cases["edit_delete"], b"edited here", now)
    cases["edit_delete"].delete("a.txt")
    remove(cases["delete_edit"].folder / "a.txt")
    cases["delete_edit"].put("a.txt", b"edited over S3")
    remove(cases["delete_delete"].folder / "a.txt")
    cases["delete_delete"].delete("a.txt")
    rename(cases["rename_edit"].folder / "a.txt", cases["rename_edit"].folder / "b.txt")
    cases["rename_edit"].put("a.txt", b"edited over S3")
    s.resume()
    wait_until(lambda: not s.status()["paused"], what="the pair resuming")
    try:
        wait_until(lambda: all(both_sides(v)[0] == both_sides(v)[1] for v in cases.values()), timeout=SETTLE,
                   what="both sides agreeing")  # fmt: skip
    except AssertionError:
        raise AssertionError(f"{[(n, both_sides(v)) for n, v in cases.items()]} {s.status()}") from None
    cases["all"] = s
    yield cases
    s.stop()


def test_edit_edit_the_newer_bucket_version_keeps_the_name(resolved: dict[str, Synced]) -> None:
    files, objects = both_sides(resolved["remote_newer"])
    assert files == objects
    assert files["a.txt"] == b"remote edit, newer"
    assert list(conflict_copies(files, "a.txt").values()) == [b"local edit, older"]


def test_edit_edit_the_newer_folder_version_keeps_the_name(resolved: dict[str, Synced]) -> None:
    files, objects = both_sides(resolved["local_newer"])
    assert files == objects
    assert files["a.txt"] == b"local edit, newer"
    assert list(conflict_copies(files, "a.txt").values()) == [b"remote edit, older"]


def test_a_folder_edit_beats_a_bucket_delete(resolved: dict[str, Synced]) -> None:
    files, objects = both_sides(resolved["edit_delete"])
    assert files == objects == {"a.txt": b"edited here"}


def test_a_bucket_edit_beats_a_folder_delete(resolved: dict[str, Synced]) -> None:
    files, objects = both_sides(resolved["delete_edit"])
    assert files == objects == {"a.txt": b"edited over S3"}


def test_deleted_on_both_sides_stays_deleted(resolved: dict[str, Synced]) -> None:
    files, objects = both_sides(resolved["delete_delete"])
    assert files == objects == {}


def test_renamed_in_the_folder_and_edited_in_the_bucket_keeps_both(resolved: dict[str, Synced]) -> None:
    files, objects = both_sides(resolved["rename_edit"])
    assert files == objects == {"a.txt": b"edited over S3", "b.txt": b"base"}


def test_status_counts_the_conflicts(resolved: dict[str, Synced]) -> None:
    assert resolved["all"].status()["conflicts"] == 2


def test_conflict_names_carry_date_and_time(resolved: dict[str, Synced], tmp_path: Path) -> None:
    import re

    names = list(conflict_copies(resolved["remote_newer"].files(), "a.txt"))
    assert len(names) == 1 and re.fullmatch(r"a\.sync-conflict-\d{8}-\d{6}\.txt", names[0]), names


WRITER = """
import sys
with open(sys.argv[1], "ab") as f:  # held open, as a log or a database file is
    print("open", flush=True)
    sys.stdin.readline()
    f.write(b" + a line written by the holder")
"""


def test_an_object_changed_over_s3_does_not_replace_a_file_held_open_for_writing(synced: Synced) -> None:
    import subprocess
    import sys

    path = synced.folder / "held.log"
    write_file(path, b"base")
    wait_until(lambda: synced.get("held.log") == b"base" and synced.settled(), what="the upload")
    holder = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"open\n"
        synced.put("held.log", b"edited over S3")
        # the run either replaced the file under the holder, or waits for it to close it
        wait_until(lambda: path.read_bytes() != b"base" or synced.status()["pending_down"] > 0, what="the run")
    finally:
        assert holder.stdin is not None
        holder.communicate(b"go\n", timeout=10)
    expected = sorted([b"base + a line written by the holder", b"edited over S3"])
    wait_until(lambda: sorted(synced.files().values()) == expected, timeout=SETTLE, what="both versions kept")
