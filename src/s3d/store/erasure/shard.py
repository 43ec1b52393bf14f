"""One shard file: a self-describing header, then one record per stripe (its fragment and a CRC32C of it).

    header (HEADER_SIZE bytes): MAGIC, FORMAT_VERSION, k, m, shard index, stripe size, full fragment size,
                                the blob's data size, CRC32C of the fields before it; zero padding
    record i:                   CRC32C (u32), fragment length (u32), fragment

Every record of a full stripe has the same length, so stripe i starts at a computed offset: a ranged
read seeks straight to the stripes it needs. The header is written last (its data size is known only
then), before the file is synced and renamed into place.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from awscrt.checksums import crc32c

MAGIC = b"S3DSHARD"
FORMAT_VERSION = 1
HEADER_FIELDS = struct.Struct("<8sHBBBxxxIIQ")
HEADER_CRC = struct.Struct("<I")
HEADER_SIZE = 64
RECORD_HEAD = struct.Struct("<II")


class ShardDamaged(Exception):
    """A header or a record failed its checksum or does not fit the pool."""


@dataclass(frozen=True, slots=True)
class Header:
    k: int
    m: int
    index: int
    stripe_size: int
    fragment_size: int
    data_size: int

    def pack(self) -> bytes:
        fields = HEADER_FIELDS.pack(
            MAGIC, FORMAT_VERSION, self.k, self.m, self.index, self.stripe_size, self.fragment_size, self.data_size
        )
        head = fields + HEADER_CRC.pack(crc32c(fields))
        return head + bytes(HEADER_SIZE - len(head))

    @property
    def stripes(self) -> int:
        return -(-self.data_size // self.stripe_size)

    def record_offset(self, stripe: int) -> int:
        return record_offset(stripe, self.fragment_size)


def record_offset(stripe: int, fragment_size: int) -> int:
    """Where stripe ``stripe``'s record starts in a shard file (every full stripe's record has one length)."""
    return HEADER_SIZE + stripe * (RECORD_HEAD.size + fragment_size)


def unpack_header(raw: bytes) -> Header:
    n = HEADER_FIELDS.size
    if len(raw) < n + HEADER_CRC.size:
        raise ShardDamaged("short header")
    fields = raw[:n]
    (crc,) = HEADER_CRC.unpack_from(raw, n)
    if crc32c(fields) != crc:
        raise ShardDamaged("header checksum mismatch")
    magic, version, k, m, index, stripe_size, fragment_size, data_size = HEADER_FIELDS.unpack(fields)
    if magic != MAGIC or version != FORMAT_VERSION:
        raise ShardDamaged("not a shard of this format")
    return Header(k, m, index, stripe_size, fragment_size, data_size)


def record(fragment: bytes) -> bytes:
    return RECORD_HEAD.pack(crc32c(fragment), len(fragment)) + fragment


def read_header(fd: int) -> Header:
    return unpack_header(os.pread(fd, HEADER_SIZE, 0))


def read_fragment(fd: int, header: Header, stripe: int) -> bytes:
    """Stripe ``stripe``'s fragment in this shard, checked; ShardDamaged if it is not what was written."""
    raw = os.pread(fd, RECORD_HEAD.size + header.fragment_size, header.record_offset(stripe))
    if len(raw) < RECORD_HEAD.size:
        raise ShardDamaged(f"stripe {stripe}: record missing")
    crc, length = RECORD_HEAD.unpack_from(raw)
    if length > header.fragment_size or len(raw) < RECORD_HEAD.size + length:
        raise ShardDamaged(f"stripe {stripe}: record truncated")
    fragment = raw[RECORD_HEAD.size : RECORD_HEAD.size + length]
    if crc32c(fragment) != crc:
        raise ShardDamaged(f"stripe {stripe}: checksum mismatch")
    return fragment
