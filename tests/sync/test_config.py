"""Configuring pairs: --sync, S3D_SYNC, [[sync]]; a missing folder stops the start; a missing bucket
is created; `s3d sync status`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import free_port
from tests.sync.conftest import Synced, start_synced, wait_until, write_file


def test_a_missing_folder_is_an_error_at_start(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "s3d", "run", "--data", str(tmp_path / "data"), "--listen", f"127.0.0.1:{free_port()}",
         "--sync", f"{tmp_path / 'nowhere'}=bucket"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2
    assert f"sync folder {tmp_path / 'nowhere'} does not exist" in r.stderr


def test_a_malformed_pair_is_a_usage_error(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "s3d", "run", "--data", str(tmp_path / "data"), "--sync", "no-equals-sign"],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert "DIR=bucket[/prefix]" in r.stderr


@pytest.fixture
def from_env(tmp_path: Path) -> Iterator[Synced]:
    folder = tmp_path / "folder"
    folder.mkdir()
    s = Synced(tmp_path, folder, "env-bucket", "in/prefix/", via_flag=False,
               env={"S3D_SYNC": f"{folder}=env-bucket/in/prefix"}).start()  # fmt: skip
    yield s
    s.stop()


def test_s3d_sync_creates_the_missing_bucket_owned_by_the_default_user(from_env: Synced) -> None:
    wait_until(lambda: "env-bucket" in [b["Name"] for b in from_env.s3.list_buckets()["Buckets"]], what="the bucket")
    write_file(from_env.folder / "a.txt", b"under the prefix")
    wait_until(lambda: from_env.get("a.txt") == b"under the prefix", what="the upload")
    assert from_env.s3.list_objects_v2(Bucket="env-bucket")["Contents"][0]["Key"] == "in/prefix/a.txt"


@pytest.fixture
def upward(tmp_path: Path) -> Iterator[Synced]:
    config = tmp_path / "s3d.toml"
    config.write_text(f'[[sync]]\ndir = "{tmp_path / "folder"}"\nbucket = "sync-bucket"\ndirection = "up"\n')
    s = start_synced(tmp_path, "--config", str(config), via_flag=False)
    yield s
    s.stop()


def test_direction_up_sends_files_and_brings_nothing_down(upward: Synced) -> None:
    upward.put("from-s3.txt", b"stays in the bucket")
    write_file(upward.folder / "a.txt", b"goes up")
    wait_until(lambda: upward.get("a.txt") == b"goes up", what="the upload")
    time.sleep(1.0)
    assert upward.files() == {"a.txt": b"goes up"}


def test_a_toml_pair_with_an_unknown_setting_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "s3d.toml"
    config.write_text(f'[[sync]]\ndir = "{tmp_path}"\nbucket = "b-1"\nmirror = true\n')
    r = subprocess.run([sys.executable, "-m", "s3d", "run", "--data", str(tmp_path / "data"), "--config", str(config)],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert "unknown setting 'mirror'" in r.stderr


def test_sync_status_lists_the_pair(own_synced: Synced) -> None:
    write_file(own_synced.folder / "a.txt", b"12345")
    wait_until(lambda: own_synced.status()["files"] == 1, what="the upload")
    r = own_synced.cli("sync", "status", "--json")
    assert r.returncode == 0, r.stderr
    (pair,) = json.loads(r.stdout)["pairs"]
    assert (pair["dir"], pair["bucket"], pair["files"], pair["bytes"]) == (str(own_synced.folder), "sync-bucket", 1, 5)
    table = own_synced.cli("sync", "status")
    assert table.returncode == 0 and str(own_synced.folder) in table.stdout and " ok" in table.stdout
