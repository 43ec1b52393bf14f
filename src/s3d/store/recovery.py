"""Start-up recovery: run once, before any worker serves a request.

SQLite replays its own WAL. What is left for us: temporary files of uploads
that never finished, and blobs whose metadata never committed (a crash between
the blob's rename and the COMMIT). Both are invisible to clients; both go.

Deleting "orphans" is only safe when no other daemon is writing to the same
data dir: a blob between its rename and its COMMIT looks exactly like an
orphan. So the runner takes an exclusive lock on the data dir (``lock_data_dir``)
before recovering, and holds it, through its workers, for as long as it serves.
An erasure-coded pool's drives hold shards laid out the same way, and a daemon
with another data dir could name the same drives: each drive is locked too
(``lock_drives``), before anything reads or writes it.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from s3d.store import cache_index, db, objects, uploads, versions
from s3d.store.blobs import FANOUT
from s3d.store.erasure.layout import HEAL_QUEUE

log = logging.getLogger("s3d")
LOCK_FILE = "lock"
DRIVE_LOCK_FILE = "drive-lock"  # DRIVE/drive-lock: a name of its own, never the data dir's lock
LOCK_WAIT = 3.0  # a daemon killed a moment ago may still be letting go of the lock


class DataDirError(Exception):
    """The data dir cannot be used; the message says why, in one line."""


@dataclass(slots=True)
class Recovered:
    tmp_removed: int
    orphans_removed: int


def check_data_dir(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise DataDirError(f"data dir {root} exists and is not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataDirError(f"cannot create data dir {root}: {e.strerror}") from None
    if not os.access(root, os.R_OK | os.W_OK | os.X_OK):
        raise DataDirError(f"data dir {root} is not readable and writable by this user")
    meta = root / "meta.db"
    if meta.exists():
        if not meta.is_file():
            raise DataDirError(f"{meta} is not a regular file")
        if not os.access(meta, os.R_OK | os.W_OK):
            raise DataDirError(f"{meta} is not readable and writable by this user")
        with open(meta, "rb") as f:
            head = f.read(16)
        if head and head != b"SQLite format 3\x00":
            raise DataDirError(f"{meta} is not an s3d metadata store (not a SQLite database)")


DISK_FULL = (
    "the volume holding {path} is full: s3d needs some room to start. Free space on it (never by deleting "
    "meta.db-wal or meta.db-shm: the WAL holds acknowledged writes), then start again."
)


def _disk_full(e: BaseException) -> bool:
    if isinstance(e, sqlite3.Error):
        return getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)


def lock_data_dir(root: Path, wait: float = LOCK_WAIT) -> int:
    """Take the data dir's exclusive lock; returns the fd that holds it (keep it open).

    The lock is an flock: forked workers share it, and it goes away with the
    last process holding the fd, however that process dies.
    """
    check_data_dir(root)
    try:
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise DataDirError(f"cannot open {root / LOCK_FILE}: {e.strerror}") from None
    return _hold(fd, wait, f"data dir {root} is in use by another s3d process")


def lock_drives(drives: Sequence[Path], wait: float = LOCK_WAIT) -> list[int]:
    """Take each drive's exclusive lock, as ``lock_data_dir`` does the data dir's; returns the fds (keep
    them open). A drive made here if missing, as the pool would; one that cannot hold a lock file at all
    is left unlocked (the pool takes it out of service). Raises DataDirError, holding none, when another
    process holds one of them."""
    fds: list[int] = []
    try:
        for drive in drives:
            try:
                drive.mkdir(parents=True, exist_ok=True)
                fd = os.open(drive / DRIVE_LOCK_FILE, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as e:
                log.warning("drive %s cannot be locked: %s", drive, e.strerror or e)
                continue
            fds.append(_hold(fd, wait, f"drive {drive} is in use by another s3d process"))
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds


def _hold(fd: int, wait: float, in_use: str) -> int:
    """flock ``fd`` exclusively, retrying for ``wait`` seconds; closes it and raises DataDirError(in_use)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EACCES) or time.monotonic() >= deadline:
                os.close(fd)
                raise DataDirError(in_use) from None
        time.sleep(0.05)


def _open_checked(path: str) -> sqlite3.Connection:
    try:
        db.init(path)
        conn = db.connect(path)
        rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    except Exception as e:  # noqa: BLE001 - any failure here means the dir is unusable
        if _disk_full(e):
            raise DataDirError(DISK_FULL.format(path=path)) from None
        raise DataDirError(f"cannot open metadata store {path}: {e}") from None
    if rows != ["ok"]:
        conn.close()
        raise DataDirError(f"metadata store {path} is damaged: {rows[0] if rows else 'quick_check failed'}")
    return conn


def _referenced(conn: sqlite3.Connection) -> set[str]:
    """Every blob a committed row points at: objects, unfinished parts, cached blocks."""
    referenced = (
        objects.blob_references(conn)
        | versions.blob_references(conn)
        | uploads.part_blobs(conn)
        | cache_index.block_blobs(conn)
    )
    cache_index.clear_reservations(conn)
    return referenced


def _remove(path: str) -> bool:
    try:
        os.unlink(path)
    except (IsADirectoryError, PermissionError):
        return False  # a directory is not ours: we never make any there
    except FileNotFoundError:
        return False
    return True


def recover(root: Path, drives: Sequence[Path] = ()) -> Recovered:
    """Make the data dir (and an erasure-coded pool's drives) consistent. The caller must hold
    ``lock_data_dir(root)`` and ``lock_drives(drives)``; a pool's drives hold blobs (shards) and tmp/ laid out as in the data dir."""
    check_data_dir(root)
    path = str(root / "meta.db")
    conn = _open_checked(path)
    try:
        referenced = _referenced(conn)
    except (sqlite3.Error, ValueError, IndexError, TypeError) as e:
        if _disk_full(e):
            raise DataDirError(DISK_FULL.format(path=path)) from None
        raise DataDirError(f"metadata store {path} is damaged: {e}") from None
    finally:
        conn.close()
    tmp_removed = orphans = 0
    for place in (root, *drives):
        try:
            t, o = _sweep(place, referenced)
        except OSError:
            continue  # a drive that cannot be read: the pool takes it out of service
        tmp_removed += t
        orphans += o
    return Recovered(tmp_removed, orphans)


def _sweep(place: Path, referenced: set[str]) -> tuple[int, int]:
    """Temporary files and unreferenced blobs (or shards) under one directory."""
    tmp_removed = orphans = 0
    tmp = place / "tmp"
    if tmp.is_dir():
        for entry in os.scandir(tmp):
            tmp_removed += _remove(entry.path)
    blobs = place / "blobs"
    if blobs.is_dir():
        for i in range(FANOUT):
            sub = blobs / f"{i:02x}"
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                if entry.name not in referenced and entry.is_file(follow_symlinks=False):
                    orphans += _remove(entry.path)
    heal = place / HEAL_QUEUE
    if heal.is_dir():
        for entry in os.scandir(heal):
            if entry.name not in referenced:
                _remove(entry.path)
    return tmp_removed, orphans
