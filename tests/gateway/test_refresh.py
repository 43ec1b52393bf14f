"""The remote refresh against a real remote, with another writer acting while a listing is under way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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


@on_remotes(MOTO)
def test_a_key_read_through_while_a_listing_runs_is_kept(
    remote_server: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing began before another writer made the key; a read-through found it meanwhile: its row stays."""
    for k, v in remote_server.env().items():
        monkeypatch.setenv(k, v)
    client = remote_server.client()
    client.create_bucket(Bucket="shared")
    real = BotocoreRemote(RemoteSettings(remote_server.url))
    store = Store(tmp_path / "data")

    async def another_writer_then_a_read_through() -> None:
        client.put_object(Bucket="shared", Key="k", Body=b"from A")
        head = await real.head_object("shared", "k")
        assert head is not None
        await remote_rows.remember(store, "shared", b"k", head)

    async def scenario() -> None:
        await store.committer.run(lambda c: buckets.insert(c, "shared", "owner", "us-east-1"))
        await refresh(store.reader, store.committer, AfterListing(real, another_writer_then_a_read_through),  # type: ignore[arg-type]
                      "owner", "us-east-1")  # fmt: skip

    try:
        asyncio.run(scenario())
        kept = store.get_object("shared", b"k")
        assert kept is not None and kept.is_remote
    finally:
        store.close()
        real.close()
