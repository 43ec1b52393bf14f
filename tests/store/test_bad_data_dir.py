"""`s3d run` refuses a data dir it cannot use: non-zero exit, one clear line on stderr, no traceback."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from s3d.store import db
from tests.conftest import client_for
from tests.support.server import ACCESS_KEY, SECRET_KEY, S3dProcess, free_port


def run_s3d(data: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, S3D_ACCESS_KEY=ACCESS_KEY, S3D_SECRET_KEY=SECRET_KEY)
    return subprocess.run(
        [sys.executable, "-m", "s3d", "run", "--data", str(data), "--listen", f"127.0.0.1:{free_port()}", "--workers", "1"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def garbage_meta(data: Path) -> None:
    data.mkdir()
    (data / "meta.db").write_bytes(random.Random(1).randbytes(64 * 1024))


def damaged_pages(data: Path) -> None:
    """A real metadata store whose pages past the first are overwritten: the header still says SQLite."""
    data.mkdir()
    path = str(data / "meta.db")
    db.init(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO buckets (name, owner, created, region) VALUES ('b', 'o', 0, 'r')")
    conn.executemany(
        "INSERT INTO objects (bucket, key, size, etag, mtime, version, meta, data) VALUES ('b', ?, 1, 'e', 0, 1, '{}', ?)",
        [(f"key-{i:05d}".encode(), b"v" * 200) for i in range(2000)],
    )
    conn.close()  # the last connection checkpoints the WAL into meta.db
    size = os.path.getsize(path)
    assert size > 16 * 4096
    with open(path, "r+b") as f:
        f.seek(2 * 4096)
        f.write(random.Random(2).randbytes(size - 3 * 4096))


def data_is_a_file(data: Path) -> None:
    data.write_text("not a directory")


def meta_is_a_directory(data: Path) -> None:
    (data / "meta.db").mkdir(parents=True)


@pytest.mark.parametrize(
    "damage", [garbage_meta, damaged_pages, data_is_a_file, meta_is_a_directory], ids=lambda f: f.__name__
)
def test_unusable_data_dir_is_refused_with_one_clear_line(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    data = tmp_path / "data"
    damage(data)
    r = run_s3d(data)
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert lines[0].startswith("s3d: ") and str(data) in lines[0], lines[0]
    assert "listening" not in r.stdout


def test_second_daemon_on_the_same_data_dir_is_refused(fresh_server: S3dProcess) -> None:
    s3 = client_for(fresh_server.endpoint, fresh_server.access_key, fresh_server.secret_key)
    s3.create_bucket(Bucket="locked")
    s3.put_object(Bucket="locked", Key="k", Body=b"still here")
    r = run_s3d(fresh_server.data)
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == [f"s3d: data dir {fresh_server.data} is in use by another s3d process"]
    # the running daemon was not disturbed (a second recovery would have swept its tmp/ and blobs/)
    assert s3.get_object(Bucket="locked", Key="k")["Body"].read() == b"still here"
