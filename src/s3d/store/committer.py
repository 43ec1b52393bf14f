"""Group commit: one writer thread per process batches concurrent mutations.

Every mutation is a function run inside a write transaction. The thread takes
whatever is queued, runs each under its own SAVEPOINT (so one failing op does
not spoil its neighbours) and COMMITs once: with synchronous=FULL that is one
WAL fsync for the whole batch. Callers are answered only after COMMIT returns,
so an acknowledged write is on disk.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from s3d.store.db import connect

T = TypeVar("T")
MAX_BATCH = 512

Op = tuple[Callable[[sqlite3.Connection], Any], Future[Any]]


class Committer:
    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self.q: queue.SimpleQueue[Op | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="s3d-committer", daemon=True)
        self.thread.start()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        fut: Future[T] = Future()
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
        conn = connect(self.db_path)
        while True:
            first = self.q.get()
            if first is None:
                conn.close()
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
            self._commit(conn, batch)
            if stop:
                conn.close()
                return

    def _commit(self, conn: sqlite3.Connection, batch: list[Op]) -> None:
        results: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _ in batch:
                conn.execute("SAVEPOINT op")
                try:
                    r = fn(conn)
                    conn.execute("RELEASE op")
                    results.append((r, None))
                except Exception as e:  # noqa: BLE001 - handed back to the caller
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((None, e))
            conn.execute("COMMIT")
        except Exception as e:  # noqa: BLE001 - the whole batch failed to commit
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            results = [(None, e)] * len(batch)
        for (_, fut), (r, err) in zip(batch, results):
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(r)
