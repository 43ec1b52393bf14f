"""Bodies of a BlobStore that is read by decoding (an erasure-coded pool) rather than by file descriptor.

The first chunk is read before the body is handed back, so a blob replaced meanwhile (FileNotFoundError)
and data lost beyond repair (DataUnavailable) are answered as errors before any header goes out; later
chunks are decoded off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator

from s3d.store.blobs import storage_error
from s3d.store.objects import Object
from s3d.store.store import Store
from s3d.store.writer import ObjectWriter


async def _rest(first: bytes | None, chunks: Generator[bytes]) -> AsyncIterator[bytes]:
    """The chunks, each next one decoding in a thread while the one before is being sent."""
    loop = asyncio.get_running_loop()
    ahead = loop.run_in_executor(None, next, chunks, None) if first is not None else None
    try:
        if first is not None:
            yield first
        while True:
            chunk = await (ahead if ahead is not None else loop.run_in_executor(None, next, chunks, None))
            ahead = None
            if chunk is None:
                return
            ahead = loop.run_in_executor(None, next, chunks, None)
            yield chunk
    finally:
        if ahead is not None:
            await asyncio.gather(ahead, return_exceptions=True)  # the generator is not closed while running
        chunks.close()


async def open_body(store: Store, obj: Object, start: int, end: int) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    chunks = await loop.run_in_executor(None, store.read_range, obj, start, end)
    try:
        first = await loop.run_in_executor(None, next, chunks, None)
    except BaseException:
        chunks.close()
        raise
    return _rest(first, chunks)


async def read_into(store: Store, obj: Object, start: int, end: int, writer: ObjectWriter) -> None:
    def run() -> None:
        chunks = store.read_range(obj, start, end)
        try:
            for chunk in chunks:
                writer.write(chunk)
        finally:
            chunks.close()

    try:
        await asyncio.get_running_loop().run_in_executor(None, run)
    except OSError as e:
        writer.discard()
        raise storage_error(e) from e
