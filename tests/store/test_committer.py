"""The group-commit thread on a real Store: batches, failing neighbours, cancelled callers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3d.store.errors import NoSuchBucket
from s3d.store.store import Store
from tests.support.store import put_bytes


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "data")
    yield s
    s.close()


def hold_committer(store: Store) -> threading.Event:
    """Keep the committer busy inside a transaction until the returned event is set."""
    release = threading.Event()

    def slow(conn: sqlite3.Connection) -> None:
        release.wait(30)

    asyncio.get_running_loop().run_in_executor(None, store.committer.run_sync, slow)
    return release


async def _one_bad_op_in_a_batch(store: Store) -> None:
    await store.create_bucket("b", "o", "r")
    release = hold_committer(store)
    await asyncio.sleep(0.1)  # the slow op is running: what follows queues into one batch
    good = [asyncio.ensure_future(put_bytes(store, "b", f"k{i}".encode(), f"k{i}".encode())) for i in range(5)]
    bad = asyncio.ensure_future(put_bytes(store, "no-such-bucket", b"x", b"x"))
    release.set()
    await asyncio.gather(*good)
    with pytest.raises(NoSuchBucket):
        await bad
    assert [store.get_object("b", f"k{i}".encode()) is not None for i in range(5)] == [True] * 5


def test_a_failing_op_does_not_spoil_its_batch(store: Store) -> None:
    asyncio.run(_one_bad_op_in_a_batch(store))


async def _cancelled_caller(store: Store) -> None:
    await store.create_bucket("b", "o", "r")
    release = hold_committer(store)
    await asyncio.sleep(0.1)
    doomed = asyncio.ensure_future(put_bytes(store, "b", b"cancelled", b"cancelled"))
    await asyncio.sleep(0.05)
    doomed.cancel()  # what asyncio does to in-flight requests at shutdown
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    # the committer thread must have survived the cancelled caller
    await asyncio.wait_for(put_bytes(store, "b", b"after", b"after"), timeout=10)
    assert store.get_object("b", b"after") is not None


def test_a_cancelled_caller_does_not_kill_the_committer(store: Store) -> None:
    asyncio.run(_cancelled_caller(store))
