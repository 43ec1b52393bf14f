"""aws-chunked request bodies in all three forms, with chunk, trailer and checksum verification."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from botocore.exceptions import ClientError

from tests.support.chunked import Signer, put_chunked

DATA = bytes(range(256)) * 1000 + b"tail"  # 256,004 bytes: several 64 KiB chunks, blob-backed


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.fixture
def signer(server):  # type: ignore[no-untyped-def]
    return Signer(server.access_key, server.secret_key)


def _put(server, signer, bucket, key, **kw):  # type: ignore[no-untyped-def]
    return put_chunked("127.0.0.1", server.port, signer, f"/{bucket}/{key}", kw.pop("data", DATA), **kw)


def _absent(s3, bucket, key):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key=key)
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_signed_chunks_store_decoded_bytes(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, body, headers = _put(server, signer, bucket, "k", mode="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    assert status == 200, body
    assert headers["etag"] == f'"{hashlib.md5(DATA).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == DATA


def test_small_signed_chunked_body_stored_inline(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, body, _ = _put(
        server, signer, bucket, "small", mode="STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data=b"hi there", chunk_size=3
    )
    assert status == 200, body
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == b"hi there"


def test_bad_chunk_signature_rejected_and_nothing_stored(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, body, _ = _put(server, signer, bucket, "k", mode="STREAMING-AWS4-HMAC-SHA256-PAYLOAD", corrupt_chunk=2)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    assert _absent(s3, bucket, "k")


def test_bad_final_chunk_signature_rejected(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    n_chunks = len(DATA) // (64 * 1024) + 1
    status, body, _ = _put(
        server, signer, bucket, "k", mode="STREAMING-AWS4-HMAC-SHA256-PAYLOAD", corrupt_chunk=n_chunks
    )
    assert status == 403 and b"SignatureDoesNotMatch" in body
    assert _absent(s3, bucket, "k")


def test_unsigned_trailer_checksum_verified(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, body, headers = _put(
        server,
        signer,
        bucket,
        "k",
        mode="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        trailer=("x-amz-checksum-crc32", _crc32(DATA)),
    )
    assert status == 200, body
    assert headers["x-amz-checksum-crc32"] == _crc32(DATA)
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == DATA
    assert got["ChecksumCRC32"] == _crc32(DATA)


def test_unsigned_trailer_wrong_checksum_is_bad_digest(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, body, _ = _put(
        server,
        signer,
        bucket,
        "k",
        mode="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        trailer=("x-amz-checksum-crc32", _crc32(b"other")),
    )
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    assert _absent(s3, bucket, "k")


def test_signed_trailer_verified(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, body, _ = _put(
        server,
        signer,
        bucket,
        "k",
        mode="STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        trailer=("x-amz-checksum-crc32", _crc32(DATA)),
    )
    assert status == 200, body
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == DATA


def test_signed_trailer_bad_signature_rejected(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, body, _ = _put(
        server, signer, bucket, "k", mode="STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        trailer=("x-amz-checksum-crc32", _crc32(DATA)), corrupt_trailer_signature=True,
    )  # fmt: skip
    assert status == 403 and b"SignatureDoesNotMatch" in body
    assert _absent(s3, bucket, "k")


def test_decoded_length_mismatch_is_rejected(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, body, _ = _put(
        server, signer, bucket, "k", mode="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        extra_headers={"x-amz-decoded-content-length": str(len(DATA) + 10)},
    )  # fmt: skip
    assert status == 400
    assert _absent(s3, bucket, "k")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_boto3_checksum_algorithms_round_trip(s3, bucket, algorithm):  # type: ignore[no-untyped-def]
    body = b"checksummed " * 1000
    r = s3.put_object(Bucket=bucket, Key=algorithm, Body=body, ChecksumAlgorithm=algorithm)
    got = s3.get_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got[f"Checksum{algorithm}"] == r[f"Checksum{algorithm}"]


def test_wrong_checksum_header_is_bad_digest(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"abc", ChecksumCRC32=_crc32(b"abd"))
    assert e.value.response["Error"]["Code"] == "BadDigest"
    assert _absent(s3, bucket, "k")


def test_sha256_checksum_matches_hashlib(s3, bucket):  # type: ignore[no-untyped-def]
    body = b"x" * 70000
    r = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumAlgorithm="SHA256")
    assert r["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
