"""Plaintext readers over the at-rest format (the store's object writer encrypts with segments.Encryptor)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from s3d.crypto.segments import READ_BATCH, SEGMENT_SIZE, Decryptor, Read, bytes_reader, segment_count


class Span:
    """One encrypted piece of an object (inline bytes or a blob file), plaintext size, range wanted in it."""

    __slots__ = ("source", "size", "lo", "hi")

    def __init__(self, source: bytes | str, size: int, lo: int, hi: int) -> None:
        self.source, self.size, self.lo, self.hi = source, size, lo, hi


def decrypt_spans(spans: list[Span], data_key: bytes, open_blob: OpenBlob) -> Iterator[bytes]:
    """Plaintext of the spans' ranges, in order. Every blob is opened before the first chunk, so a blob
    replaced meanwhile raises FileNotFoundError before anything is yielded; a TamperError may come at any chunk.
    """
    opened: list[BlobRead] = []
    try:
        readers = []
        for s in spans:
            if isinstance(s.source, bytes):
                readers.append(bytes_reader(s.source))
            else:
                blob = open_blob(s.source)
                opened.append(blob)
                readers.append(blob.read_at)
        for s, read in zip(spans, readers, strict=True):
            yield from Decryptor(data_key, read, s.size).read_range(s.lo, s.hi)
    finally:
        for blob in opened:
            blob.close()


class BlobRead(Protocol):
    """Random reads of one stored blob (a file, or an erasure-coded blob decoded stripe by stripe)."""

    def read_at(self, offset: int, length: int) -> bytes: ...

    def close(self) -> None: ...


class OpenBlob(Protocol):
    def __call__(self, blob: str) -> BlobRead: ...


class PlainReader:
    """Random reads of plaintext from an encrypted blob (for uploads that read it in small pieces).

    The last batch of decrypted segments is kept, so sequential small reads decrypt each segment once.
    """

    def __init__(self, read: Read, data_key: bytes, plain_size: int) -> None:
        self.decryptor = Decryptor(data_key, read, plain_size)
        self.size = plain_size
        self._base = 0
        self._cached = b""

    def read(self, offset: int, n: int) -> bytes:
        end = min(self.size, offset + n) - 1
        if end < offset:
            return b""
        if not (self._base <= offset and end < self._base + len(self._cached)):
            first = offset // SEGMENT_SIZE
            last = min(first + READ_BATCH - 1, segment_count(self.size) - 1, end // SEGMENT_SIZE)
            last = max(last, min(end // SEGMENT_SIZE, segment_count(self.size) - 1))
            self._cached = b"".join(p for _, p in self.decryptor.segments(first, last))
            self._base = first * SEGMENT_SIZE
        lo = offset - self._base
        return self._cached[lo : lo + (end - offset + 1)]
