"""The at-rest format: round trips, ranged reads, and every kind of tampering detected."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.crypto import segments
from s3d.crypto.segments import SEGMENT_SIZE, Decryptor, Encryptor, TamperError, bytes_reader, cipher_size, encrypt

KEY = bytes(range(32))
SIZES = st.integers(min_value=0, max_value=3 * SEGMENT_SIZE + 17)


def decrypt_all(key: bytes, blob: bytes, size: int) -> bytes:
    return b"".join(Decryptor(key, bytes_reader(blob), size).read_range(0, size - 1))


def stream(key: bytes, data: bytes, cuts: list[int]) -> bytes:
    e = Encryptor(key)
    out, pos = [], 0
    for c in sorted(cuts):
        out.append(e.update(data[pos:c]))
        pos = c
    out.append(e.update(data[pos:]))
    out.append(e.finish())
    return b"".join(out)


@settings(max_examples=40, deadline=None)
@given(size=SIZES, data=st.data())
def test_streamed_round_trip_any_chunking(size: int, data: st.DataObject) -> None:
    plain = os.urandom(size)
    cuts = data.draw(st.lists(st.integers(0, size), max_size=8))
    blob = stream(KEY, plain, cuts)
    assert len(blob) == cipher_size(size)
    assert decrypt_all(KEY, blob, size) == plain


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 3 * SEGMENT_SIZE + 17), data=st.data())
def test_any_range_reads_exactly_its_bytes(size: int, data: st.DataObject) -> None:
    plain = os.urandom(size)
    start = data.draw(st.integers(0, size - 1))
    end = data.draw(st.integers(start, size - 1))
    blob = encrypt(KEY, plain)
    got = b"".join(Decryptor(KEY, bytes_reader(blob), size).read_range(start, end))
    assert got == plain[start : end + 1]


def test_range_reads_only_the_segments_it_needs() -> None:
    plain = os.urandom(4 * SEGMENT_SIZE)
    blob = bytearray(encrypt(KEY, plain))
    # wreck segment 0 and segment 3: a read inside segments 1..2 must not touch them
    blob[segments.HEADER_SIZE + 5] ^= 1
    blob[-5] ^= 1
    d = Decryptor(KEY, bytes_reader(bytes(blob)), len(plain))
    start, end = SEGMENT_SIZE - 0, 3 * SEGMENT_SIZE - 1
    assert b"".join(d.read_range(start, end)) == plain[start : end + 1]


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    plain = b"marker-" * 20000
    assert b"marker-marker" not in encrypt(KEY, plain)


def test_two_encryptions_of_the_same_bytes_differ() -> None:
    plain = b"x" * 1000
    assert encrypt(KEY, plain) != encrypt(KEY, plain)


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 2 * SEGMENT_SIZE + 3), data=st.data())
def test_every_single_bit_flip_is_detected(size: int, data: st.DataObject) -> None:
    plain = os.urandom(size)
    blob = bytearray(encrypt(KEY, plain))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(TamperError):
        decrypt_all(KEY, bytes(blob), size)


def test_every_bit_of_a_small_blob_is_covered() -> None:
    plain = b"small object"
    blob = encrypt(KEY, plain)
    for bit in range(len(blob) * 8):
        flipped = bytearray(blob)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(TamperError):
            decrypt_all(KEY, bytes(flipped), len(plain))


def test_truncation_at_a_segment_boundary_is_detected() -> None:
    plain = os.urandom(2 * SEGMENT_SIZE)
    blob = encrypt(KEY, plain)
    one_segment = blob[: segments.HEADER_SIZE + segments.CIPHER_SEGMENT]
    # claiming the shorter size: segment 0 was sealed as not final
    with pytest.raises(TamperError):
        decrypt_all(KEY, one_segment, SEGMENT_SIZE)
    with pytest.raises(TamperError):
        decrypt_all(KEY, one_segment, len(plain))


def test_swapped_segments_are_detected() -> None:
    plain = os.urandom(3 * SEGMENT_SIZE)
    blob = encrypt(KEY, plain)
    h, c = segments.HEADER_SIZE, segments.CIPHER_SEGMENT
    swapped = blob[:h] + blob[h + c : h + 2 * c] + blob[h : h + c] + blob[h + 2 * c :]
    with pytest.raises(TamperError):
        decrypt_all(KEY, swapped, len(plain))


def test_segments_of_another_blob_under_the_same_key_are_refused() -> None:
    a, b = encrypt(KEY, b"a" * 100), encrypt(KEY, b"b" * 100)
    spliced = a[: segments.HEADER_SIZE] + b[segments.HEADER_SIZE :]
    with pytest.raises(TamperError):
        decrypt_all(KEY, spliced, 100)


def test_wrong_key_is_detected() -> None:
    blob = encrypt(KEY, b"secret")
    with pytest.raises(TamperError):
        decrypt_all(bytes(32), blob, 6)


def test_appended_bytes_fail_the_end_check() -> None:
    blob = encrypt(KEY, b"secret") + b"more"
    d = Decryptor(KEY, bytes_reader(blob), 6)
    with pytest.raises(TamperError):
        d.verify_end()


def test_blob_key_is_hkdf_sha256() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    salt = bytes(16)
    want = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=segments.BLOB_KEY_INFO).derive(KEY)
    header = segments.HEADER.pack(segments.MAGIC, segments.VERSION, segments.SEGMENT_SHIFT, salt)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sealed = AESGCM(want).encrypt(bytes(12), b"x", header + segments.SEGMENT_AAD.pack(0, segments.FINAL))
    assert decrypt_all(KEY, header + sealed, 1) == b"x"
