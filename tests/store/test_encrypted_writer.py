"""The object writer with a data key: what it stores is the at-rest format, inline or in a blob, streamed or copied."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from s3d.crypto.segments import SEGMENT_SIZE, cipher_size, decrypt_inline
from s3d.store.store import Draft, Store, close_spans
from s3d.store.writer import ObjectWriter

KEY = os.urandom(32)


def _stored(store: Store, blob: str | None, data: bytes | None) -> bytes:
    return data if data is not None else store.blobs.path(blob or "").read_bytes()


@pytest.mark.parametrize("size", [0, 100, 70_000, 3 * SEGMENT_SIZE + 5])
def test_writer_stores_the_at_rest_format(tmp_path: Path, size: int) -> None:
    plain = os.urandom(size)

    async def run() -> None:
        store = Store(tmp_path / "data", inline_max=64 * 1024)
        try:
            await store.create_bucket("b", "owner", "us-east-1")
            with store.writer(size, data_key=KEY) as w:
                for i in range(0, size, 10_000):
                    w.write(plain[i : i + 10_000])
                obj = await w.commit_object(Draft("b", b"k", "0" * 32, {}))
            assert obj.size == size
            stored = _stored(store, obj.blob, obj.data)
            assert len(stored) == cipher_size(size)
            assert decrypt_inline(KEY, stored, size) == plain
            if size >= 16:
                assert plain[:16] not in stored
        finally:
            store.close()

    asyncio.run(run())


def test_writer_encrypts_what_it_copies(tmp_path: Path) -> None:
    plain = os.urandom(2 * SEGMENT_SIZE + 1)

    async def run() -> None:
        store = Store(tmp_path / "data")
        try:
            await store.create_bucket("b", "owner", "us-east-1")
            with store.writer(len(plain)) as w:
                w.write(plain)
                src = await w.commit_object(Draft("b", b"src", "0" * 32, {}))
            pieces = store.open_range(src, 0, src.size - 1)
            w2: ObjectWriter
            try:
                with store.writer(src.size, data_key=KEY) as w2:
                    await w2.copy(pieces)
                    dst = await w2.commit_object(Draft("b", b"dst", "0" * 32, {}))
            finally:
                close_spans(pieces)
            assert decrypt_inline(KEY, _stored(store, dst.blob, dst.data), dst.size) == plain
        finally:
            store.close()

    asyncio.run(run())
