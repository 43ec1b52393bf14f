"""Group commit: one writer thread per process batches concurrent mutations.

Every mutation is a function run inside a write transaction. The thread takes
whatever is queued, runs each under its own SAVEPOINT (so one failing op does
not spoil its neighbours) and COMMITs once: with synchronous=FULL that is one
WAL fsync for the whole batch. Callers are answered only after COMMIT returns,
so an acknowledged write is on disk.

When the transaction itself fails, every op of the batch fails with a
``CommitError``. Its ``settled`` flag tells the caller whether the batch is
certainly rolled back (so new blobs it wrote may go) or whether the COMMIT may
have reached the disk anyway (an I/O error while syncing the WAL): then the
caller must leave its blobs alone and let start-up recovery decide, because
deleting them could leave a committed row pointing at nothing.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar, cast

from s3d import observe
from s3d.store.db import connect
from s3d.store.errors import CommitDiskFull, CommitError, InsufficientStorage
from s3d.store.mirror import Mirrors, Recording

T = TypeVar("T")
MAX_BATCH = 512
SYNC_MODES = {"FULL": "FULL", "NORMAL": "NORMAL"}  # the only settings a writer may ask for

SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_FULL = 13

Op = tuple[Callable[[sqlite3.Connection], Any], Future[Any]]


def is_disk_full(e: BaseException) -> bool:
    return isinstance(e, sqlite3.Error) and (getattr(e, "sqlite_errorcode", 0) & 0xFF) == SQLITE_FULL


def _op_error(e: Exception) -> Exception:
    """What a failed op hands back to its caller: SQLITE_FULL is a full disk."""
    if is_disk_full(e):
        return InsufficientStorage()
    return e


def _batch_error(e: Exception, committing: bool) -> CommitError:
    # Before COMMIT runs nothing can be on disk. A COMMIT that failed to write the
    # WAL (SQLITE_FULL: the commit frame never got out) or to take the lock is
    # rolled back too. Anything else while committing (SQLITE_IOERR on the WAL
    # fsync, ...) may or may not have made it to disk.
    code = (getattr(e, "sqlite_errorcode", 0) & 0xFF) if isinstance(e, sqlite3.Error) else 0
    settled = not committing or code in (SQLITE_FULL, SQLITE_BUSY, SQLITE_LOCKED)
    if code == SQLITE_FULL:
        return CommitDiskFull(f"metadata commit failed: {e}", settled)
    return CommitError(f"metadata commit failed: {e}", settled)


class Committer:
    def __init__(self, db_path: str, synchronous: str = "FULL", mirrors: Sequence[Path] = ()) -> None:
        """``synchronous=NORMAL`` only for bookkeeping that may be redone after a power cut (the shipper's).
        ``mirrors``: directories whose copy of the database gets every transaction too (store/mirror.py)."""
        self.db_path = db_path
        self.mirrors = Mirrors(mirrors) if mirrors else None
        self.q: queue.SimpleQueue[Op | None] = queue.SimpleQueue()
        # opened here, not in the thread, so a store that cannot be opened fails
        # loudly at start instead of leaving every later write waiting forever
        self.conn = connect(db_path)
        self.conn.execute(f"PRAGMA synchronous={SYNC_MODES[synchronous]}")
        # Writers in every worker process take this lock around their transaction. SQLite's own
        # busy handler polls with sleeps of up to 100 ms and is unfair: under load one process
        # could starve the other for seconds. flock waiters block and wake as soon as it is free.
        self.lock_fd = os.open(
            os.path.join(os.path.dirname(db_path) or ".", "write.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        self.thread = threading.Thread(target=self._run, name="s3d-committer", daemon=True)
        self.thread.start()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        fut: Future[T] = Future()
        with observe.get().span("store.commit"):
            self.q.put((fn, fut))
            return await asyncio.wrap_future(fut)

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        fut: Future[T] = Future()
        self.q.put((fn, fut))
        return fut.result()

    def close(self) -> None:
        self.q.put(None)
        self.thread.join(timeout=10)

    def _run(self) -> None:
        conn = self.conn
        while True:
            first = self.q.get()
            if first is None:
                self._close()
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self.q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            # A caller whose task was cancelled (asyncio cancels the wrapped
            # future) is dropped here; marking the rest running means a late
            # cancel can no longer make set_result() raise and kill this thread.
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
            try:
                # whatever queued while we waited for the lock rides in the same transaction
                while len(batch) < MAX_BATCH and not stop:
                    try:
                        nxt = self.q.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                    else:
                        batch.append(nxt)
                batch = [op for op in batch if op[1].set_running_or_notify_cancel()]
                if batch:
                    self._commit(conn, batch)
            finally:
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
            if stop:
                self._close()
                return

    def _close(self) -> None:
        self.conn.close()
        if self.mirrors is not None:
            self.mirrors.close()
        os.close(self.lock_fd)

    def _commit(self, primary: sqlite3.Connection, batch: list[Op]) -> None:
        results: list[tuple[Any, BaseException | None]] = []
        committing = False
        recording = Recording(primary) if self.mirrors is not None else None
        conn = cast(sqlite3.Connection, recording) if recording is not None else primary
        try:
            primary.execute("BEGIN IMMEDIATE")
            for fn, _ in batch:
                conn.execute("SAVEPOINT op")
                try:
                    r = fn(conn)
                except Exception as e:  # noqa: BLE001 - handed back to the caller
                    try:
                        conn.execute("ROLLBACK TO op")
                        conn.execute("RELEASE op")
                    except sqlite3.Error:
                        # SQLite already rolled the whole transaction back (SQLITE_FULL
                        # can do that): the batch fails, with the op's own error
                        raise e from None
                    results.append((None, _op_error(e)))
                    continue
                conn.execute("RELEASE op")
                results.append((r, None))
            if self.mirrors is not None and recording is not None:
                self.mirrors.replay(recording.statements)  # every mirror has it before the primary does
            committing = True
            primary.execute("COMMIT")
        except Exception as e:  # noqa: BLE001 - the whole batch failed to commit
            if primary.in_transaction:
                try:
                    primary.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            failed = _batch_error(e, committing)
            results = [(None, failed)] * len(batch)
        for (_, fut), (r, err) in zip(batch, results, strict=True):
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(r)
