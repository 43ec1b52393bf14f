"""Encryption on the data path: a writer that encrypts what passes through it, and plaintext readers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol

from s3d.crypto.segments import Decryptor, Encryptor, bytes_reader, fd_reader


class Sink(Protocol):
    """What the store's blob writer offers (write, then commit or discard)."""

    size: int

    def write(self, data: bytes | memoryview) -> None: ...
    async def commit(self) -> str: ...
    def discard(self) -> None: ...


class EncryptingWriter:
    """A blob writer that encrypts: plaintext in, segments out, same commit/discard."""

    def __init__(self, sink: Sink, data_key: bytes) -> None:
        self.sink = sink
        self.encryptor = Encryptor(data_key)

    @property
    def size(self) -> int:
        return self.encryptor.plain_size

    def write(self, data: bytes | memoryview) -> None:
        out = self.encryptor.update(data)
        if out:
            self.sink.write(out)

    async def commit(self) -> str:
        try:
            self.sink.write(self.encryptor.finish())
        except BaseException:
            self.sink.discard()
            raise
        return await self.sink.commit()

    def discard(self) -> None:
        self.sink.discard()


class Span:
    """One encrypted piece of an object (inline bytes or a blob file), plaintext size, range wanted in it."""

    __slots__ = ("source", "size", "lo", "hi")

    def __init__(self, source: bytes | str, size: int, lo: int, hi: int) -> None:
        self.source, self.size, self.lo, self.hi = source, size, lo, hi


def decrypt_spans(spans: list[Span], data_key: bytes, open_blob: OpenBlob) -> Iterator[bytes]:
    """Plaintext of the spans' ranges, in order. Every blob is opened before the first chunk, so a blob
    replaced meanwhile raises FileNotFoundError before anything is yielded; a TamperError may come at any chunk.
    """
    fds: list[int] = []
    try:
        readers = []
        for s in spans:
            if isinstance(s.source, bytes):
                readers.append(bytes_reader(s.source))
            else:
                fd = open_blob(s.source)
                fds.append(fd)
                readers.append(fd_reader(fd))
        for s, read in zip(spans, readers, strict=True):
            yield from Decryptor(data_key, read, s.size).read_range(s.lo, s.hi)
    finally:
        for fd in fds:
            os.close(fd)


class OpenBlob(Protocol):
    def __call__(self, blob: str) -> int: ...
