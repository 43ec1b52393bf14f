"""Encrypted objects on the data path: ranged plaintext bodies and plaintext copies between kinds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

from s3d.crypto.segments import TamperError
from s3d.crypto.stream import Span, decrypt_spans
from s3d.s3.handlers.sse import tampered
from s3d.store.blobs import storage_error
from s3d.store.namespace import Namespace
from s3d.store.objects import Object
from s3d.store.store import Store
from s3d.store.writer import ObjectWriter

log = logging.getLogger("s3d.sse")
PRIME_BYTES = 1 << 20  # decrypted before the response headers go out


def spans(obj: Object, start: int, end: int) -> list[Span]:
    """The encrypted pieces of obj holding plaintext [start, end], each with the range wanted in it."""
    if obj.data is not None:
        return [Span(obj.data, obj.size, start, end)]
    if obj.blob is not None:
        return [Span(obj.blob, obj.size, start, end)]
    out: list[Span] = []
    offset = 0
    for p in obj.parts or []:
        p_start, p_end = offset, offset + p.size - 1
        offset += p.size
        if p_end < start or p_start > end or p.size == 0:
            continue
        out.append(Span(p.blob, p.size, max(start, p_start) - p_start, min(end, p_end) - p_start))
    return out


def plaintext(store: Store, obj: Object, data_key: bytes, start: int, end: int) -> Iterator[bytes]:
    return decrypt_spans(spans(obj, start, end), data_key, store.blobs.open_random)


async def _stream(obj: Object, first: list[bytes], rest: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in first:
        yield chunk
    try:
        for chunk in rest:
            yield chunk
    except TamperError as e:
        tampered(obj, e)  # logged; the connection is cut, as for any failure after the headers
        raise


def open_body(store: Store, obj: Object, data_key: bytes, start: int, end: int) -> AsyncIterator[bytes]:
    """Plaintext [start, end] of an encrypted object as a streamed body.

    Up to PRIME_BYTES are decrypted here, before any header is sent: a blob replaced meanwhile raises
    FileNotFoundError (look again), and tampering found there is an S3 error; past them (large reads)
    tampering cuts the connection, the only signal left once a 200 is out.
    """
    chunks = plaintext(store, obj, data_key, start, end)
    first: list[bytes] = []
    primed = 0
    try:
        while primed < PRIME_BYTES:
            chunk = next(chunks, None)
            if chunk is None:
                break
            first.append(chunk)
            primed += len(chunk)
    except TamperError as e:
        raise tampered(obj, e) from None
    return _stream(obj, first, chunks)


async def read_into(
    ns: Namespace, src: Object, data_key: bytes | None, start: int, end: int, writer: ObjectWriter
) -> None:
    """Feed plaintext [start, end] of src to a writer (copies): decrypted here when src is encrypted and its
    bytes are local, else as the namespace reads it. FileNotFoundError if src was replaced meanwhile."""
    if data_key is None or src.is_remote:
        await ns.read_into(src, start, end, writer)
        return
    if end < start:
        return
    chunks = plaintext(ns.store, src, data_key, start, end)
    try:
        first = next(chunks, b"")  # opens every blob now: a replaced source shows here
    except TamperError as e:
        raise tampered(src, e) from None

    def run() -> None:
        writer.write(first)
        for chunk in chunks:
            writer.write(chunk)

    try:
        await asyncio.get_running_loop().run_in_executor(None, run)
    except TamperError as e:
        writer.discard()
        raise tampered(src, e) from None
    except OSError as e:
        writer.discard()
        raise storage_error(e) from e
