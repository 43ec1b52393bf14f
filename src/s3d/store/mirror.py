"""Mirrored metadata: the SQLite database (and the data dir's key files) kept on other drives too.

Every transaction of a store's committer is recorded (``Recording``: the statements that change the
database, with their exact parameters) and replayed on each mirror before the primary COMMIT, all under
the cross-process write lock, so the mirrors see the same transactions in the same order. Replaying
the statements, not re-running the operations, keeps the mirrors identical even where an operation
reads the clock or draws a random id. A mirror that fails a replay is dropped (logged) until the next
start, when every mirror is copied afresh from the primary (SQLite's backup API).

At start, a data dir that lost its database (its drive died) takes the copy of the mirror with the
highest journal LSN that passes SQLite's quick_check: the mirrors had every acknowledged transaction.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from s3d.store import db, journal
from s3d.store.blobs import fsync_dir

log = logging.getLogger("s3d.mirror")
META_DB = "meta.db"
MIRROR_DIR = "meta"  # on a mirror drive: DRIVE/meta/meta.db
KEY_FILES = ("credentials.json", "master-keys.json", "pool.json")  # copied with the database: the data dir's
# own secrets, and the pool's identity (store/erasure/identity.py)
READS = ("SELECT", "PRAGMA")


def mirror_dirs(drives: Sequence[Path], copies: int) -> list[Path]:
    """Where the mirrors live: the first ``copies`` drives."""
    return [d / MIRROR_DIR for d in drives[:copies]]


class Recording:
    """A connection that notes each statement that may change the database, with its parameters."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.statements: list[tuple[str, Any, bool]] = []

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if not sql.lstrip()[:6].upper().startswith(READS):
            self.statements.append((sql, params, False))
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, seq: Iterable[Any]) -> sqlite3.Cursor:
        rows = list(seq)
        self.statements.append((sql, rows, True))
        return self._conn.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class Mirrors:
    """The open mirrors of one committer."""

    def __init__(self, dirs: Sequence[Path]) -> None:
        self.conns: dict[Path, sqlite3.Connection] = {}
        for d in dirs:
            try:
                self.conns[d] = db.connect(str(d / META_DB))
            except sqlite3.Error as e:
                log.error("metadata mirror %s cannot be opened, dropped until restart: %s", d, e)
        # the mirrors commit side by side: one fsync's wait for all of them, not one each
        self._threads = ThreadPoolExecutor(max_workers=max(1, len(self.conns)), thread_name_prefix="s3d-mirror")

    def replay(self, statements: list[tuple[str, Any, bool]]) -> None:
        """Apply one transaction to every mirror (each committed on its own; a failing mirror is dropped)."""
        runs = {d: self._threads.submit(_apply, conn, statements) for d, conn in self.conns.items()}
        for d, run in runs.items():
            try:
                run.result()
            except sqlite3.Error as e:
                log.error("metadata mirror %s failed a transaction, dropped until restart: %s", d, e)
                try:
                    self.conns[d].close()
                except sqlite3.Error:
                    pass
                del self.conns[d]

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()


def _apply(conn: sqlite3.Connection, statements: list[tuple[str, Any, bool]]) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
        for sql, params, many in statements:
            (conn.executemany if many else conn.execute)(sql, params)
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the mirror is dropped anyway
        raise


def _lsn(path: Path) -> int | None:
    """The journal LSN of a database that passes quick_check; None if it does not."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()] != ["ok"]:
                return None
            return journal.current_lsn(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _copy_db(src: Path, dst_dir: Path) -> None:
    """A consistent copy of a database into dst_dir (through a temporary name, synced, then renamed)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    tmp = dst_dir / (META_DB + ".copy")
    for stale in (tmp, dst_dir / (META_DB + "-wal"), dst_dir / (META_DB + "-shm")):
        stale.unlink(missing_ok=True)
    s = sqlite3.connect(str(src))
    d = sqlite3.connect(str(tmp))
    try:
        s.backup(d)
    finally:
        d.close()
        s.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, dst_dir / META_DB)
    fsync_dir(dst_dir)


def _copy_keys(src_dir: Path, dst_dir: Path) -> None:
    for name in KEY_FILES:
        if (src_dir / name).is_file():
            shutil.copy2(src_dir / name, dst_dir / name)


def restore(data: Path, dirs: Sequence[Path]) -> Path | None:
    """A data dir without its database takes the best mirror's (and its key files). Returns that mirror."""
    if (data / META_DB).exists():
        return None
    found = [(lsn, d) for d in dirs if (d / META_DB).is_file() and (lsn := _lsn(d / META_DB)) is not None]
    if not found:
        return None
    lsn, best = max(found)
    data.mkdir(parents=True, exist_ok=True)
    _copy_db(best / META_DB, data)
    for name in KEY_FILES:
        if (best / name).is_file() and not (data / name).exists():
            shutil.copy2(best / name, data / name)
    log.warning("metadata restored from mirror %s (LSN %d): the data dir had lost its database", best, lsn)
    return best


def resync(data: Path, dirs: Sequence[Path]) -> list[Path]:
    """Copy the primary to every mirror (at start, before any worker writes). Returns the mirrors in use."""
    ok: list[Path] = []
    for d in dirs:
        try:
            _copy_db(data / META_DB, d)
            _copy_keys(data, d)
            ok.append(d)
        except (OSError, sqlite3.Error) as e:
            log.error("metadata mirror %s cannot be written, not in use: %s", d, e)
    return ok
