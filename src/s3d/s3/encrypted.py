"""Encrypted objects on the data path: ranged plaintext bodies and plaintext copies between kinds."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

from s3d.crypto.segments import TamperError, encrypt
from s3d.crypto.stream import EncryptingWriter, Span, decrypt_spans
from s3d.s3.handlers.sse import tampered
from s3d.store.blobs import storage_error
from s3d.store.store import Object, Store

log = logging.getLogger("s3d.sse")
READ_CHUNK = 1 << 20
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
    return decrypt_spans(spans(obj, start, end), data_key, store.blobs.open_read)


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


def plain_spans(store: Store, parts: list[Span]) -> Iterator[bytes]:
    """Bytes of unencrypted spans; every blob is opened before the first chunk (FileNotFoundError then)."""
    fds: dict[int, int] = {}
    try:
        for i, s in enumerate(parts):
            if isinstance(s.source, str):
                fds[i] = store.blobs.open_read(s.source)
        for i, s in enumerate(parts):
            off = s.lo
            while off <= s.hi:
                n = min(READ_CHUNK, s.hi - off + 1)
                chunk = s.source[off : off + n] if isinstance(s.source, bytes) else os.pread(fds[i], n, off)
                if not chunk:
                    raise OSError("a blob is shorter than its metadata says")
                yield chunk
                off += len(chunk)
    finally:
        for fd in fds.values():
            os.close(fd)


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


async def copy(
    store: Store,
    src: Object,
    src_key: bytes | None,
    dst_key: bytes | None,
    start: int,
    end: int,
    also: Hasher | None = None,
    inline: bool = True,
) -> tuple[bytes | None, str | None, str]:
    """Bytes [start, end] of src (decrypted with src_key if set) into a new inline value (if inline and small)
    or blob (encrypted with dst_key if set): (inline data, blob, MD5 of the plaintext).

    ``also`` sees the plaintext too (a checksum). FileNotFoundError if src was replaced meanwhile.
    """
    md5 = hashlib.md5()
    hashers = [md5, also] if also is not None else [md5]
    size = max(0, end - start + 1)
    remote: AsyncIterator[bytes] | None = None
    local: Iterator[bytes] = iter(())
    if src.is_remote:
        if size:
            stream, _ = await store.remote_body(src, start, end)
            remote = _aiter(stream)
    try:
        if src.is_remote or not size:
            pass
        elif src_key is not None:
            local = plaintext(store, src, src_key, start, end)
        else:
            local = plain_spans(store, spans(src, start, end))
        first = next(local, b"")  # opens every blob now: a replaced source shows here
        local = itertools.chain([first], local)
        if inline and size <= store.inline_max:
            data = b"".join([c async for c in remote] if remote else list(local))
            for hasher in hashers:
                hasher.update(data)
            return (encrypt(dst_key, data) if dst_key else data), None, md5.hexdigest()
        writer = EncryptingWriter(store.new_blob(), dst_key) if dst_key else store.new_blob()
        try:
            if remote is not None:
                async for chunk in remote:
                    for hasher in hashers:
                        hasher.update(chunk)
                    writer.write(chunk)
            else:

                def run() -> None:
                    for chunk in local:
                        for hasher in hashers:
                            hasher.update(chunk)
                        writer.write(chunk)

                await asyncio.get_running_loop().run_in_executor(None, run)
        except OSError as e:
            writer.discard()
            raise storage_error(e) from e
        except BaseException:
            writer.discard()
            raise
        return None, await writer.commit(), md5.hexdigest()
    except TamperError as e:
        raise tampered(src, e) from None


async def _aiter(stream: AsyncIterator[bytes] | bytes) -> AsyncIterator[bytes]:
    if isinstance(stream, bytes):
        yield stream
    else:
        async for chunk in stream:
            yield chunk
