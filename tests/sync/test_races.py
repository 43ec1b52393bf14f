"""Races too narrow to hit from outside, made certain: the other side's change lands at the worst
moment of a run (in-process: a Store, its namespace and one pair, with the change injected)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from s3d.store import objects
from s3d.store.namespace import LocalNamespace
from s3d.store.store import Store
from s3d.sync.config import SyncPair
from s3d.sync.pair import PairSync
from tests.support.store import put_bytes

BUCKET = "race-bucket"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "data")
    yield s
    s.close()


def pair_of(store: Store, folder: Path) -> tuple[PairSync, LocalNamespace]:
    ns = LocalNamespace(store)
    return PairSync(SyncPair(folder, BUCKET), store, ns, None), ns


async def _put_lands_just_before_the_delete(store: Store, folder: Path) -> bytes | None:
    await store.create_bucket(BUCKET, "owner", "us-east-1")
    (folder / "a.txt").write_bytes(b"synced")
    ps, ns = pair_of(store, folder)
    (folder / "a.txt").touch()
    await asyncio.sleep(0.6)  # past the quiet period
    await ps.run()
    assert objects.etag_of(store.reader, BUCKET, b"a.txt") is not None
    (folder / "a.txt").unlink()
    real_delete = ns.delete_object

    async def put_then_delete(bucket: str, key: bytes, *args: Any, **kwargs: Any) -> Any:
        await put_bytes(store, bucket, key, b"a PUT acknowledged meanwhile", etag="1" * 32)
        return await real_delete(bucket, key, *args, **kwargs)

    ns.delete_object = put_then_delete  # type: ignore[method-assign]
    await ps.run()
    found = objects.etag_of(store.reader, BUCKET, b"a.txt")
    return None if found is None else found.encode()


def test_a_put_landing_as_the_sync_deletes_the_object_is_not_lost(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    assert asyncio.run(_put_lands_just_before_the_delete(store, folder)) == b"1" * 32
