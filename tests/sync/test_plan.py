"""The three-way decision, the conflict names and the mtime forms, on their own."""

from __future__ import annotations

import time

import pytest

from s3d.store.sync_state import Base
from s3d.sync.config import Direction, MaxDelete, SyncConfigError, parse_spec
from s3d.sync.local import LocalEntry
from s3d.sync.pair import format_mtime, parse_mtime
from s3d.sync.plan import Act, RemoteEntry, conflict_name, decide

BASE = Base(5, 100, "etag-1")
SAME_L = LocalEntry(5, 100)
NEW_L = LocalEntry(6, 200)
SAME_R = RemoteEntry(b"k", 5, "etag-1", 100)
NEW_R = RemoteEntry(b"k", 7, "etag-2", 300)


@pytest.mark.parametrize(
    ("local", "remote", "base", "act"),
    [
        (SAME_L, SAME_R, BASE, Act.NOTHING),
        (NEW_L, SAME_R, BASE, Act.UPLOAD),
        (None, SAME_R, BASE, Act.DELETE_REMOTE),
        (SAME_L, NEW_R, BASE, Act.DOWNLOAD),
        (SAME_L, None, BASE, Act.DELETE_LOCAL),
        (NEW_L, NEW_R, BASE, Act.COMPARE),
        (NEW_L, None, BASE, Act.UPLOAD),  # a modification beats a deletion
        (None, NEW_R, BASE, Act.DOWNLOAD),
        (None, None, BASE, Act.FORGET),
        (NEW_L, None, None, Act.UPLOAD),
        (None, NEW_R, None, Act.DOWNLOAD),
        (NEW_L, NEW_R, None, Act.COMPARE),
    ],
)
def test_both_directions(local: LocalEntry | None, remote: RemoteEntry | None, base: Base | None, act: Act) -> None:
    assert decide(local, remote, base, Direction.BOTH) is act


def test_up_leaves_bucket_changes_alone() -> None:
    assert decide(SAME_L, NEW_R, BASE, Direction.UP) is Act.NOTHING
    assert decide(SAME_L, None, BASE, Direction.UP) is Act.NOTHING
    assert decide(NEW_L, NEW_R, BASE, Direction.UP) is Act.UPLOAD


def test_down_leaves_folder_changes_alone() -> None:
    assert decide(NEW_L, SAME_R, BASE, Direction.DOWN) is Act.NOTHING
    assert decide(None, SAME_R, BASE, Direction.DOWN) is Act.NOTHING
    assert decide(NEW_L, NEW_R, BASE, Direction.DOWN) is Act.DOWNLOAD


def test_conflict_names_keep_the_extension_and_avoid_taken_names() -> None:
    at = time.mktime((2026, 12, 4, 17, 5, 9, 0, 0, -1))
    assert conflict_name("dir/report.pdf", at, set()) == "dir/report.sync-conflict-20261204-170509.pdf"
    assert conflict_name("Makefile", at, set()) == "Makefile.sync-conflict-20261204-170509"
    assert conflict_name(".bashrc", at, set()) == ".bashrc.sync-conflict-20261204-170509"
    taken = {"a.sync-conflict-20261204-170509.txt"}
    assert conflict_name("a.txt", at, taken) == "a.sync-conflict-20261204-170509-1.txt"


def test_mtime_reads_rclone_and_s3fs_forms_and_writes_rclones() -> None:
    assert parse_mtime("1700000000.123456789") == 1_700_000_000_123_456_789
    assert parse_mtime("1700000000") == 1_700_000_000_000_000_000  # s3fs: whole seconds
    assert parse_mtime("1700000000.5") == 1_700_000_000_500_000_000
    assert parse_mtime("yesterday") is None
    assert parse_mtime("99999999999999999999.5") is None  # no file can have it: the object's own time
    assert format_mtime(1_700_000_000_000_000_001) == "1700000000.000000001"


def test_pair_specs() -> None:
    p = parse_spec("/srv/camera=photos/raw/")
    assert (str(p.dir), p.bucket, p.prefix) == ("/srv/camera", "photos", "raw/")
    assert parse_spec("/srv/x=b-1").prefix == ""
    with pytest.raises(SyncConfigError):
        parse_spec("/srv/x=Not_A_Bucket")


def test_max_delete_counts_and_percentages() -> None:
    assert MaxDelete.parse("50%").limit(40) == 20
    assert MaxDelete.parse("7").limit(40) == 7
    with pytest.raises(SyncConfigError):
        MaxDelete.parse("lots")
