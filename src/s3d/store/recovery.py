"""Start-up recovery: run once, before any worker serves a request.

SQLite replays its own WAL. What is left for us: temporary files of uploads
that never finished, and blobs whose metadata never committed (a crash between
the blob's rename and the COMMIT). Both are invisible to clients; both go.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from s3d.store import db
from s3d.store.blobs import FANOUT


class DataDirError(Exception):
    """The data dir cannot be used; the message says why, in one line."""


@dataclass(slots=True)
class Recovered:
    tmp_removed: int
    orphans_removed: int


def check_data_dir(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataDirError(f"cannot create data dir {root}: {e.strerror}") from None
    if not os.access(root, os.R_OK | os.W_OK | os.X_OK):
        raise DataDirError(f"data dir {root} is not readable and writable by this user")
    meta = root / "meta.db"
    if meta.exists():
        if not os.access(meta, os.R_OK | os.W_OK):
            raise DataDirError(f"{meta} is not readable and writable by this user")
        with open(meta, "rb") as f:
            head = f.read(16)
        if head and head != b"SQLite format 3\x00":
            raise DataDirError(f"{meta} is not an s3d metadata store (not a SQLite database)")


def recover(root: Path) -> Recovered:
    check_data_dir(root)
    path = str(root / "meta.db")
    try:
        db.init(path)
        conn = db.connect(path)
        conn.execute("PRAGMA quick_check").fetchone()
    except Exception as e:  # noqa: BLE001 - any failure here means the dir is unusable
        raise DataDirError(f"cannot open metadata store {path}: {e}") from None
    tmp_removed = 0
    tmp = root / "tmp"
    if tmp.is_dir():
        for entry in os.scandir(tmp):
            os.unlink(entry.path)
            tmp_removed += 1
    referenced: set[str] = set()
    for blob, parts in conn.execute("SELECT blob, parts FROM objects WHERE blob IS NOT NULL OR parts IS NOT NULL"):
        if blob:
            referenced.add(blob)
        if parts:
            referenced.update(p[3] for p in json.loads(parts))
    referenced.update(r[0] for r in conn.execute("SELECT blob FROM parts"))
    conn.close()
    orphans = 0
    blobs = root / "blobs"
    if blobs.is_dir():
        for i in range(FANOUT):
            sub = blobs / f"{i:02x}"
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                if entry.name not in referenced:
                    os.unlink(entry.path)
                    orphans += 1
    return Recovered(tmp_removed, orphans)
