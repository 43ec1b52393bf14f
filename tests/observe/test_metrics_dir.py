"""Where the metrics files live: in shared memory, never on the data volume; emptied at each start."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from s3d.observe import setup


@pytest.fixture
def made(tmp_path: Path):  # type: ignore[no-untyped-def]
    paths: list[Path] = []
    yield paths
    for p in paths:
        shutil.rmtree(p, ignore_errors=True)


def test_the_metrics_files_are_not_on_the_data_volume(tmp_path: Path, made: list[Path]) -> None:
    path = setup.metrics_dir(tmp_path / "data")
    made.append(path)
    assert path.parent == setup.SHARED_MEMORY and path.is_dir() and os.listdir(path) == []
    assert not (tmp_path / "data").exists()


def test_a_killed_daemon_s_metrics_files_are_emptied_at_the_next_start(tmp_path: Path, made: list[Path]) -> None:
    first = setup.metrics_dir(tmp_path / "data")
    made.append(first)
    (first / "counter_123.db").write_bytes(b"x")
    again = setup.metrics_dir(tmp_path / "data")
    assert again == first and os.listdir(again) == []


def test_a_name_taken_by_something_else_gives_a_fresh_directory(tmp_path: Path, made: list[Path]) -> None:
    taken = setup.metrics_dir(tmp_path / "data")
    made.append(taken)
    taken.rmdir()
    taken.symlink_to(tmp_path)  # not a directory of ours: never followed, never emptied
    made.append(taken)
    fresh = setup.metrics_dir(tmp_path / "data")
    made.append(fresh)
    assert fresh != taken and fresh.parent == setup.SHARED_MEMORY and fresh.is_dir()
    taken.unlink()
