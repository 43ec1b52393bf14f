"""The remote refresh against a real remote, with another writer acting while a listing is under way."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from s3d.gateway import remote_rows
from s3d.gateway.refresh import refresh
from s3d.remote import ListPage
from s3d.remote.botocore_remote import BotocoreRemote, RemoteSettings
from s3d.store import buckets
from s3d.store.store import Store
from tests.support.remotes import MOTO, Remote, on_remotes

LAST_MODIFIED_GRANULARITY = 1.1  # seconds: a listing's and a HEAD's Last-Modified are whole seconds


class AfterListing:
    """A real remote whose every listed page is followed by ``then`` (what others do meanwhile)."""

    def __init__(self, remote: BotocoreRemote, then: Callable[[], Awaitable[None]]) -> None:
        self.remote = remote
        self.then = then

    async def list_page(self, bucket: str, prefix: str, token: str | None) -> ListPage:
        page = await self.remote.list_page(bucket, prefix, token)
        await self.then()
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self.remote, name)


@dataclass
class Scene:
    """A store with bucket ``shared``, and the real remote holding that bucket."""

    client: Any  # boto3, straight to the remote: the other writer
    remote: BotocoreRemote
    store: Store

    def refresh_while(self, then: Callable[[], Awaitable[None]]) -> None:
        """One refresh, with ``then`` done after its listing of each page."""

        async def run() -> None:
            await self.store.committer.run(lambda c: buckets.insert(c, "shared", "owner", "us-east-1"))
            await refresh(self.store.reader, self.store.committer, AfterListing(self.remote, then),  # type: ignore[arg-type]
                          "owner", "us-east-1")  # fmt: skip

        asyncio.run(run())

    async def read_through(self, key: str) -> None:
        head = await self.remote.head_object("shared", key)
        assert head is not None
        await remote_rows.remember(self.store, "shared", key.encode(), head)


@pytest.fixture
def scene(remote_server: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    for k, v in remote_server.env().items():
        monkeypatch.setenv(k, v)
    client = remote_server.client()
    client.create_bucket(Bucket="shared")
    s = Scene(client, BotocoreRemote(RemoteSettings(remote_server.url)), Store(tmp_path / "data"))
    yield s
    s.store.close()
    s.remote.close()


@on_remotes(MOTO)
def test_a_key_read_through_while_a_listing_runs_is_kept(scene: Scene) -> None:
    """The listing began before another writer made the key; a read-through found it meanwhile: its row stays."""

    async def another_writer_then_a_read_through() -> None:
        scene.client.put_object(Bucket="shared", Key="k", Body=b"from A")
        await scene.read_through("k")

    scene.refresh_while(another_writer_then_a_read_through)
    kept = scene.store.get_object("shared", b"k")
    assert kept is not None and kept.is_remote


@on_remotes(MOTO)
def test_a_newer_version_read_through_while_a_listing_runs_is_not_taken_back(scene: Scene) -> None:
    """The page listed v1; another writer then wrote v2, which a read-through found: the row stays at v2."""
    scene.client.put_object(Bucket="shared", Key="k", Body=b"v1")

    async def overwritten_then_read_through() -> None:
        time.sleep(LAST_MODIFIED_GRANULARITY)  # v2's Last-Modified is a later second than v1's
        scene.client.put_object(Bucket="shared", Key="k", Body=b"v2")
        await scene.read_through("k")

    scene.refresh_while(overwritten_then_read_through)
    kept = scene.store.get_object("shared", b"k")
    assert kept is not None and kept.etag == hashlib.md5(b"v2").hexdigest()
