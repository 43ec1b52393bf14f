"""The checksums S3 knows (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), as incremental hashers.

CRCs come from awscrt's C implementation (zlib for CRC32); values travel base64
encoded, big-endian, as AWS sends them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from typing import Protocol

from awscrt import checksums as crt

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEADER = {a: f"x-amz-checksum-{a.lower()}" for a in ALGORITHMS}
COMPOSITE = "COMPOSITE"  # a multipart object's checksum: of its parts' checksums
FULL_OBJECT = "FULL_OBJECT"  # of the whole object's bytes
DIGEST_SIZE = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
NOT_COMPUTED = ("SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128")  # S3 knows them; s3d refuses them (501)
FULL_OBJECT_ONLY = {"CRC64NVME"}


class Hasher(Protocol):
    def update(self, data: bytes | memoryview) -> None: ...
    def digest(self) -> bytes: ...


class _Crc:
    __slots__ = ("value", "fn", "width")

    def __init__(self, fn: object, width: int) -> None:
        self.value = 0
        self.fn = fn
        self.width = width

    def update(self, data: bytes | memoryview) -> None:
        self.value = self.fn(data, self.value)  # type: ignore[operator]

    def digest(self) -> bytes:
        return self.value.to_bytes(self.width, "big")


def new(algorithm: str) -> Hasher:
    if algorithm == "CRC32":
        return _Crc(zlib.crc32, 4)
    if algorithm == "CRC32C":
        return _Crc(crt.crc32c, 4)
    if algorithm == "CRC64NVME":
        return _Crc(crt.crc64nvme, 8)
    if algorithm == "SHA1":
        return hashlib.sha1()
    if algorithm == "SHA256":
        return hashlib.sha256()
    raise ValueError(algorithm)


def digest_of(algorithm: str, value: str) -> bytes | None:
    """The digest a base64 x-amz-checksum-* value carries; None unless it is exactly one of the algorithm's."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == DIGEST_SIZE[algorithm] else None


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def compute(algorithm: str, data: bytes) -> str:
    h = new(algorithm)
    h.update(data)
    return b64(h.digest())


def composite(algorithm: str, part_values: list[str]) -> str:
    """The checksum-of-checksums S3 reports for a multipart object: base64(H(concat(raw part digests)))-N."""
    h = new(algorithm)
    for v in part_values:
        h.update(base64.b64decode(v))
    return f"{b64(h.digest())}-{len(part_values)}"


def combine_crc(algorithm: str, parts: list[tuple[str, int]]) -> str:
    """A full-object CRC from the parts' CRCs and sizes (for FULL_OBJECT multipart checksums)."""
    combine = {"CRC32": crt.combine_crc32, "CRC32C": crt.combine_crc32c, "CRC64NVME": crt.combine_crc64nvme}[algorithm]
    width = 8 if algorithm == "CRC64NVME" else 4
    value = 0
    for i, (v, size) in enumerate(parts):
        c = int.from_bytes(base64.b64decode(v), "big")
        value = c if i == 0 else combine(value, c, size)
    return b64(value.to_bytes(width, "big"))
