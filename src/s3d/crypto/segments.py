"""The at-rest format: AES-256-GCM over fixed-size segments.

An encrypted blob is a header followed by segments::

    header  = MAGIC (4) | VERSION (1) | SEGMENT_SHIFT (1) | salt (16)
    segment = AES-256-GCM(blob key, nonce = segment index, aad = header | index | final flag)
              over SEGMENT_SIZE plaintext bytes (the last one over the remainder): ciphertext | tag (16)

The blob key is HKDF-SHA256(data key, salt): every blob (an object, or one multipart part) gets a
key of its own, so a nonce made of the segment index is never used twice under one key. The
segment index and the final-segment flag are bound into the associated data, so segments cannot
be reordered, dropped or the blob truncated (or extended) without the read failing. An empty
plaintext is one empty final segment (a tag alone), so even it cannot be replaced by nothing.

A ranged read maps the plaintext range to the segments that hold it and decrypts only those.
Any mismatch raises ``TamperError``: a read never returns wrong bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"S3DE"
VERSION = 1
SEGMENT_SHIFT = 16
SEGMENT_SIZE = 1 << SEGMENT_SHIFT  # plaintext bytes per segment (64 KiB)
SALT_SIZE = 16
TAG_SIZE = 16
KEY_SIZE = 32  # AES-256
NONCE_SIZE = 12
HEADER = struct.Struct(f">4sBB{SALT_SIZE}s")
HEADER_SIZE = HEADER.size
SEGMENT_AAD = struct.Struct(">QB")
CIPHER_SEGMENT = SEGMENT_SIZE + TAG_SIZE
BLOB_KEY_INFO = b"s3d blob key v1"
READ_BATCH = 16  # segments decrypted per read (1 MiB of plaintext)
FINAL, NOT_FINAL = 1, 0

Read = Callable[[int, int], bytes]  # (offset, length) -> bytes, like os.pread


class TamperError(Exception):
    """Stored ciphertext does not authenticate: it was changed, truncated or the key is wrong."""


def segment_count(plain_size: int) -> int:
    """Segments holding ``plain_size`` plaintext bytes (an empty plaintext is one empty segment)."""
    return max(1, -(-plain_size // SEGMENT_SIZE))


def cipher_size(plain_size: int) -> int:
    """Bytes on disk for ``plain_size`` plaintext bytes."""
    return HEADER_SIZE + plain_size + segment_count(plain_size) * TAG_SIZE


def cipher_span(plain_size: int, start: int, end: int) -> tuple[int, int, int]:
    """(first segment, last segment, ciphertext offset of the first) holding plaintext [start, end]."""
    first = start // SEGMENT_SIZE
    last = min(end // SEGMENT_SIZE, segment_count(plain_size) - 1)
    return first, last, HEADER_SIZE + first * CIPHER_SEGMENT


def _blob_key(data_key: bytes, salt: bytes) -> AESGCM:
    if len(data_key) != KEY_SIZE:
        raise ValueError("a data key is 32 bytes")
    # HKDF-SHA256 (RFC 5869) for one 32-byte block, written out: HMAC is ~100x cheaper to set up here
    prk = hmac.new(salt, data_key, hashlib.sha256).digest()
    return AESGCM(hmac.new(prk, BLOB_KEY_INFO + b"\x01", hashlib.sha256).digest())


def _nonce(index: int) -> bytes:
    return index.to_bytes(NONCE_SIZE, "big")


class Encryptor:
    """Streaming encryption: feed chunks of any size, get ciphertext back; memory stays under two segments."""

    def __init__(self, data_key: bytes) -> None:
        salt = os.urandom(SALT_SIZE)
        self.header = HEADER.pack(MAGIC, VERSION, SEGMENT_SHIFT, salt)
        self._aead = _blob_key(data_key, salt)
        self._buf = bytearray()
        self._index = 0
        self._started = False
        self.plain_size = 0

    def _seal(self, plain: bytes | bytearray | memoryview, final: int) -> bytes:
        aad = self.header + SEGMENT_AAD.pack(self._index, final)
        out = self._aead.encrypt(_nonce(self._index), plain, aad)
        self._index += 1
        return out

    def update(self, chunk: bytes | bytearray | memoryview) -> bytes:
        """Ciphertext for the segments completed so far (the header first, with the first call)."""
        return b"".join(self.update_pieces(chunk))

    def update_pieces(self, chunk: bytes | bytearray | memoryview) -> list[bytes]:
        """As update, as a list of pieces (the header, sealed segments): no copy to join them.

        A full segment is sealed only once more data follows it: the last one must carry the final flag.
        Full segments are sealed straight from ``chunk``; only a partial tail is copied aside.
        """
        self.plain_size += len(chunk)
        out: list[bytes] = []
        if not self._started:
            self._started = True
            out.append(self.header)
        view = memoryview(chunk)
        if self._buf:
            need = SEGMENT_SIZE - len(self._buf)
            if len(view) <= need:
                self._buf += view
                return out
            self._buf += view[:need]
            view = view[need:]
            out.append(self._seal(self._buf, NOT_FINAL))
            self._buf = bytearray()
        while len(view) > SEGMENT_SIZE:
            out.append(self._seal(view[:SEGMENT_SIZE], NOT_FINAL))
            view = view[SEGMENT_SIZE:]
        self._buf += view
        return out

    def finish(self) -> bytes:
        """The last segment (flagged final); the header too if nothing was fed."""
        head = b"" if self._started else self.header
        self._started = True
        last = self._seal(self._buf, FINAL)
        self._buf = bytearray()
        return head + last


def encrypt(data_key: bytes, plain: bytes) -> bytes:
    """A whole plaintext at once (inline objects)."""
    e = Encryptor(data_key)
    return e.update(plain) + e.finish()


class Decryptor:
    """Reads plaintext ranges of one encrypted blob of known plaintext size."""

    def __init__(self, data_key: bytes, read: Read, plain_size: int) -> None:
        header = read(0, HEADER_SIZE)
        if len(header) != HEADER_SIZE:
            raise TamperError("encrypted blob is shorter than its header")
        magic, version, shift, salt = HEADER.unpack(header)
        if magic != MAGIC or version != VERSION or shift != SEGMENT_SHIFT:
            raise TamperError("encrypted blob has an unknown header")
        self.header = header
        self._aead = _blob_key(data_key, salt)
        self._read = read
        self.plain_size = plain_size
        self._segments = segment_count(plain_size)

    def _open(self, index: int, sealed: bytes) -> bytes:
        final = FINAL if index == self._segments - 1 else NOT_FINAL
        aad = self.header + SEGMENT_AAD.pack(index, final)
        try:
            return self._aead.decrypt(_nonce(index), sealed, aad)
        except InvalidTag:
            raise TamperError(f"segment {index} failed authentication") from None

    def batches(self, first: int, last: int) -> Iterator[list[tuple[int, bytes]]]:
        """[(index, plaintext)] of segments first..last, READ_BATCH segments (one read) at a time."""
        index = first
        while index <= last:
            n = min(READ_BATCH, last - index + 1)
            offset = HEADER_SIZE + index * CIPHER_SEGMENT
            want = self._sealed_len(index, n)
            data = self._read(offset, want)
            if len(data) != want:
                raise TamperError("encrypted blob is shorter than its size says")
            pos = 0
            batch = []
            for i in range(index, index + n):
                seg_len = self._sealed_len(i, 1)
                batch.append((i, self._open(i, data[pos : pos + seg_len])))
                pos += seg_len
            yield batch
            index += n

    def segments(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        """(index, plaintext) of segments first..last."""
        for batch in self.batches(first, last):
            yield from batch

    def _sealed_len(self, index: int, n: int) -> int:
        """Ciphertext bytes of n segments from index (the last segment may be short)."""
        end_plain = min(self.plain_size, (index + n) * SEGMENT_SIZE)
        plain = max(0, end_plain - index * SEGMENT_SIZE)
        return plain + n * TAG_SIZE

    def read_range(self, start: int, end: int) -> Iterator[bytes]:
        """Plaintext [start, end] (inclusive), decrypting only the segments that hold it.

        An empty object's one segment is authenticated by any read of it, though it yields nothing.
        """
        if self.plain_size == 0:
            for _ in self.segments(0, 0):
                pass
            return
        if end < start:
            return
        first, last, _ = cipher_span(self.plain_size, start, end)
        index = first
        while index <= last:
            n = min(READ_BATCH, last - index + 1)
            plain = self._open_batch(index, n)
            base = index * SEGMENT_SIZE
            lo = max(start, base) - base
            hi = min(end, base + len(plain) - 1) - base
            yield plain if lo == 0 and hi == len(plain) - 1 else plain[lo : hi + 1]
            index += n

    def _open_batch(self, index: int, n: int) -> bytes:
        """Plaintext of segments index..index+n-1, read at once and decrypted in place into one buffer."""
        want = self._sealed_len(index, n)
        data = memoryview(self._read(HEADER_SIZE + index * CIPHER_SEGMENT, want))
        if len(data) != want:
            raise TamperError("encrypted blob is shorter than its size says")
        out = bytearray(want - n * TAG_SIZE)
        view = memoryview(out)
        pos = opos = 0
        for i in range(index, index + n):
            seg_len = self._sealed_len(i, 1)
            plain_len = seg_len - TAG_SIZE
            final = FINAL if i == self._segments - 1 else NOT_FINAL
            aad = self.header + SEGMENT_AAD.pack(i, final)
            try:
                self._aead.decrypt_into(_nonce(i), data[pos : pos + seg_len], aad, view[opos : opos + plain_len])
            except InvalidTag:
                raise TamperError(f"segment {i} failed authentication") from None
            pos += seg_len
            opos += plain_len
        return bytes(out)

    def verify_end(self) -> None:
        """Authenticate the final segment and check nothing follows it (a read of the tail alone)."""
        last = self._segments - 1
        for _ in self.segments(last, last):
            pass
        extra = self._read(cipher_size(self.plain_size), 1)
        if extra:
            raise TamperError("encrypted blob is longer than its size says")


def decrypt_inline(data_key: bytes, blob: bytes, plain_size: int) -> bytes:
    """A whole small encrypted value at once (inline objects)."""
    return b"".join(Decryptor(data_key, bytes_reader(blob), plain_size).read_range(0, plain_size - 1))


def bytes_reader(data: bytes) -> Read:
    return lambda offset, length: data[offset : offset + length]


def fd_reader(fd: int) -> Read:
    return lambda offset, length: os.pread(fd, length, offset)
