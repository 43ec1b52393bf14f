"""Plaintext readers over the at-rest format: the shipper's random reads."""

from __future__ import annotations

import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.crypto.segments import SEGMENT_SIZE, encrypt
from s3d.crypto.stream import PlainReader

KEY = os.urandom(32)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(0, 20 * SEGMENT_SIZE), data=st.data())
def test_plain_reader_any_reads(size: int, data: st.DataObject) -> None:
    plain = os.urandom(size)
    with tempfile.TemporaryFile() as f:
        f.write(encrypt(KEY, plain))
        f.flush()
        reader = PlainReader(lambda off, n: os.pread(f.fileno(), n, off), KEY, size)
        for _ in range(5):
            off = data.draw(st.integers(0, size))
            n = data.draw(st.integers(0, 3 * SEGMENT_SIZE))
            assert reader.read(off, n) == plain[off : off + n]


def test_plain_reader_sequential_small_reads() -> None:
    plain = os.urandom(5 * SEGMENT_SIZE + 3)
    with tempfile.TemporaryFile() as f:
        f.write(encrypt(KEY, plain))
        f.flush()
        reader = PlainReader(lambda off, n: os.pread(f.fileno(), n, off), KEY, len(plain))
        got = b"".join(reader.read(off, 8192) for off in range(0, len(plain), 8192))
    assert got == plain
