"""The Remote seam's one implementation, against real remote servers."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from s3d.remote import Piece, RemoteError
from s3d.remote.botocore_remote import BotocoreRemote, ConfigError, RemoteSettings
from s3d.store.blobs import FdRead
from tests.support.remotes import RCLONE, RGW, RemoteServer


@pytest.fixture
def remote(remote_server: RemoteServer, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for k, v in remote_server.env().items():
        monkeypatch.setenv(k, v)
    r = BotocoreRemote(RemoteSettings(remote_server.url))
    yield r
    r.close()


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _collect(it) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join([c async for c in it])


def test_put_pieces_then_get_and_range(remote, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "blob"
    f.write_bytes(b"0123456789" * 1000)
    pieces = [Piece(data=b"head-"), Piece(source=lambda: FdRead(os.open(f, os.O_RDONLY)), offset=10, length=5000)]
    body = b"head-" + f.read_bytes()[10:5010]

    async def go() -> None:
        await remote.ensure_bucket("bkt")
        etag = await remote.put_object("bkt", "dir/k", pieces, {"content-type": "text/plain", "x-amz-meta-a": "1"}, None,
                                       md5=hashlib.md5(body).hexdigest())  # fmt: skip
        assert etag == hashlib.md5(body).hexdigest()
        obj, it = await remote.get_object("bkt", "dir/k")
        assert await _collect(it) == body
        assert obj.meta["content-type"] == "text/plain" and obj.meta["x-amz-meta-a"] == "1"
        obj, it = await remote.get_object("bkt", "dir/k", 100, 199)
        assert await _collect(it) == body[100:200] and obj.size == len(body)
        head = await remote.head_object("bkt", "dir/k")
        assert head is not None and head.size == len(body)
        assert await remote.head_object("bkt", "missing") is None

    run(go())


def test_multipart_etag_matches_local_rule(remote, remote_kind: str, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    if remote_kind == RGW:  # the shipper reads the ETag back with a HEAD after completing (see docs/ceph.md)
        request.applymarker(
            pytest.mark.xfail(strict=True, reason="Ceph 16 answers CompleteMultipartUpload with an empty ETag")
        )
    parts = [os.urandom(5 * 1024 * 1024), b"last"]

    async def go() -> None:
        await remote.ensure_bucket("bkt")
        uid = await remote.create_multipart("bkt", "mp", {}, None)
        etags = [await remote.upload_part("bkt", "mp", uid, i, [Piece(data=p)]) for i, p in enumerate(parts, 1)]
        etag = await remote.complete_multipart("bkt", "mp", uid, list(enumerate(etags, 1)))
        _, it = await remote.get_object("bkt", "mp")
        assert await _collect(it) == b"".join(parts)
        assert etag.endswith("-2")

    run(go())


def test_list_and_delete(remote) -> None:  # type: ignore[no-untyped-def]
    async def go() -> None:
        await remote.ensure_bucket("bkt")
        for k in ("a", "b/c", "d"):
            await remote.put_object("bkt", k, [Piece(data=k.encode())], {}, None)
        page = await remote.list_page("bkt", "", None)
        assert [o.key for o in page.objects] == ["a", "b/c", "d"]
        await remote.delete_object("bkt", "a")
        page = await remote.list_page("bkt", "", None)
        assert [o.key for o in page.objects] == ["b/c", "d"]

    run(go())


def test_dead_remote_raises_retryable_error(remote_server, remote) -> None:  # type: ignore[no-untyped-def]
    remote_server.stop()
    with pytest.raises(RemoteError) as e:
        run(remote.head_object("bkt", "k"))
    assert e.value.retryable


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        BotocoreRemote(RemoteSettings("ftp:/nowhere"))


def test_conditional_writes_match_the_etag_held_and_refuse_another(remote, remote_kind: str) -> None:  # type: ignore[no-untyped-def]
    if remote_kind == RCLONE:
        pytest.skip("rclone serve s3 ignores conditional writes")

    async def go() -> None:
        await remote.ensure_bucket("cond")
        first = await remote.put_object("cond", "k", [Piece(data=b"v1")], {}, None)
        second = await remote.put_object("cond", "k", [Piece(data=b"v2")], {}, None, if_match=first)
        with pytest.raises(RemoteError) as e:
            await remote.put_object("cond", "k", [Piece(data=b"v3")], {}, None, if_match=first)
        assert e.value.status == 412
        with pytest.raises(RemoteError) as e:
            await remote.put_object("cond", "k", [Piece(data=b"v4")], {}, None, if_absent=True)
        assert e.value.status == 412
        obj, it = await remote.get_object("cond", "k")
        assert (await _collect(it), obj.etag) == (b"v2", second)

    run(go())
