"""Real faults for tests: a small filesystem that fills up, and views of a data dir's files.

``small_fs`` mounts a size-limited tmpfs (needs root); it skips the test,
with the reason, when mounting is impossible, and always unmounts after.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_fs(where: Path, size_mib: int) -> Iterator[Path]:
    """A tmpfs of ``size_mib`` MiB mounted at ``where`` for the duration of the block."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited filesystem needs root")
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0700", "tmpfs", str(where)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def fill(path: Path, chunk: int = 1 << 16, limit: int = 1 << 30) -> int:
    """Write ``path`` until the filesystem refuses (ENOSPC); returns the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        block = b"\0" * chunk
        while written < limit:
            try:
                written += f.write(block) or 0
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if chunk == 1:
                    break
                chunk = max(1, chunk // 16)  # top up the last few bytes too
                block = b"\0" * chunk
    return written


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def tmp_files(data: Path) -> list[str]:
    tmp = data / "tmp"
    return sorted(os.listdir(tmp)) if tmp.is_dir() else []


def blob_files(data: Path) -> set[str]:
    """Names of every file under DATA/blobs (whatever subdirectory it is in)."""
    out: set[str] = set()
    for _dirpath, _dirs, files in os.walk(data / "blobs"):
        out.update(files)
    return out


def referenced_blobs(data: Path) -> set[str]:
    """Every blob the metadata points at (objects, their parts, unfinished uploads' parts), read-only."""
    conn = sqlite3.connect(f"file:{data / 'meta.db'}?mode=ro", uri=True, timeout=30)
    try:
        out: set[str] = set()
        for blob, parts in conn.execute("SELECT blob, parts FROM objects"):
            if blob:
                out.add(blob)
            if parts:
                out.update(p[3] for p in json.loads(parts))
        out.update(r[0] for r in conn.execute("SELECT blob FROM parts"))
        return out
    finally:
        conn.close()


def blob_path(data: Path, name: str) -> Path:
    return data / "blobs" / name[:2] / name
