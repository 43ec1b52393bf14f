"""Plaintext readers over the at-rest format: the shipper's random reads, the encrypting writer."""

from __future__ import annotations

import asyncio
import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.crypto.segments import SEGMENT_SIZE, encrypt
from s3d.crypto.stream import EncryptingWriter, PlainReader

KEY = os.urandom(32)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(0, 20 * SEGMENT_SIZE), data=st.data())
def test_plain_reader_any_reads(size: int, data: st.DataObject) -> None:
    plain = os.urandom(size)
    with tempfile.TemporaryFile() as f:
        f.write(encrypt(KEY, plain))
        f.flush()
        reader = PlainReader(f.fileno(), KEY, size)
        for _ in range(5):
            off = data.draw(st.integers(0, size))
            n = data.draw(st.integers(0, 3 * SEGMENT_SIZE))
            assert reader.read(off, n) == plain[off : off + n]


def test_plain_reader_sequential_small_reads() -> None:
    plain = os.urandom(5 * SEGMENT_SIZE + 3)
    with tempfile.TemporaryFile() as f:
        f.write(encrypt(KEY, plain))
        f.flush()
        reader = PlainReader(f.fileno(), KEY, len(plain))
        got = b"".join(reader.read(off, 8192) for off in range(0, len(plain), 8192))
    assert got == plain


class ListSink:
    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.size = 0
        self.discarded = False

    def write(self, data: bytes | memoryview) -> None:
        self.out.append(bytes(data))
        self.size += len(data)

    async def commit(self) -> str:
        return "blob"

    def discard(self) -> None:
        self.discarded = True


def test_encrypting_writer_writes_the_format_and_counts_plaintext() -> None:
    from s3d.crypto.segments import Decryptor, bytes_reader, cipher_size

    plain = os.urandom(3 * SEGMENT_SIZE + 1)
    sink = ListSink()
    w = EncryptingWriter(sink, KEY)
    for i in range(0, len(plain), 10_000):
        w.write(plain[i : i + 10_000])
    assert asyncio.run(w.commit()) == "blob"
    assert w.size == len(plain) and sink.size == cipher_size(len(plain))
    blob = b"".join(sink.out)
    assert b"".join(Decryptor(KEY, bytes_reader(blob), len(plain)).read_range(0, len(plain) - 1)) == plain
