"""aws-chunked request bodies in all three forms, with chunk, trailer and checksum verification."""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
import zlib

import pytest
from botocore.exceptions import ClientError

from tests.support import rawhttp
from tests.support.chunked import Signer, chunked_headers, put_chunked, send_body

DATA = bytes(range(256)) * 1000 + b"tail"  # 256,004 bytes: several 64 KiB chunks, blob-backed


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.fixture
def signer(server):  # type: ignore[no-untyped-def]
    return Signer(server.access_key, server.secret_key)


def _put(server, signer, bucket, key, **kw):  # type: ignore[no-untyped-def]
    return put_chunked("127.0.0.1", server.port, signer, f"/{bucket}/{key}", kw.pop("data", DATA), **kw)


UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
TEN = b"a" * 10  # the data of the hand-written bodies: one chunk "a\r\n"
TEN_BYTES = len(TEN)


def _send(server, signer, bucket, wire, *, decoded_length=TEN_BYTES, content_length=None, **kw):  # type: ignore[no-untyped-def]
    """PUT raw aws-chunked bytes (unsigned-trailer mode unless ``mode`` says otherwise) with signed headers."""
    path = f"/{bucket}/k"
    kw.setdefault("mode", UNSIGNED_TRAILER)
    headers, _, _ = chunked_headers(signer, "127.0.0.1", server.port, path, decoded_length=decoded_length, **kw)
    return send_body("127.0.0.1", server.port, path, headers, wire, content_length=content_length)


def _ten(trailers: bytes = b"", size: bytes = b"a") -> bytes:
    """TEN as one chunk (under this size line), the final chunk, these trailer lines and the empty line."""
    return size + b"\r\n" + TEN + b"\r\n0\r\n" + trailers + b"\r\n"


def _refused(server, signer, s3, bucket, wire, **kw) -> tuple[int, str | None, str | None]:  # type: ignore[no-untyped-def]
    """(status, code, message) of the error answering ``_send``; nothing may have been stored."""
    status, body, _ = _send(server, signer, bucket, wire, **kw)
    root = ET.fromstring(body)
    assert _absent(s3, bucket, "k")
    return status, root.findtext("Code"), root.findtext("Message")


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


def test_chunk_signature_of_non_ascii_bytes_does_not_match(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    wire = b"a;chunk-signature=" + b"\xe9" * 64 + b"\r\n" + TEN + b"\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n"
    status, code, _ = _refused(server, signer, s3, bucket, wire, mode="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    assert (status, code) == (403, "SignatureDoesNotMatch")


# ---------- limits: nothing held beyond what the request declares ----------
def test_chunk_larger_than_the_decoded_length_is_refused_before_its_data(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    header = b"%x\r\n" % (400 << 20)  # a 400 MiB chunk announced; none of it is sent
    status, code, _ = _refused(server, signer, s3, bucket, header, decoded_length=1, content_length=len(header) + 100)
    assert (status, code) == (400, "IncompleteBody")


def test_content_length_past_the_decoded_length_and_its_framing_is_refused(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, code, _ = _refused(server, signer, s3, bucket, b"", decoded_length=1, content_length=400 << 20)
    assert (status, code) == (400, "IncompleteBody")


# ---------- strict framing ----------
@pytest.mark.parametrize("size", [b"0xa", b"+a", b"0_a"])
def test_chunk_size_other_than_hex_digits_is_refused(server, signer, s3, bucket, size):  # type: ignore[no-untyped-def]
    status, code, _ = _refused(server, signer, s3, bucket, _ten(size=size))
    assert (status, code) == (400, "IncompleteBody")


def test_bytes_after_the_final_chunk_are_refused(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, code, _ = _refused(server, signer, s3, bucket, _ten() + b"GARBAGE")
    assert (status, code) == (400, "IncompleteBody")


# ---------- trailers ----------
def test_trailer_other_than_a_checksum_is_invalid_request(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    wire = _ten(b"x-amz-meta-evil:1\r\n")
    got = _refused(server, signer, s3, bucket, wire, trailer_name="x-amz-meta-evil")
    assert got == (400, "InvalidRequest", "The value specified in the x-amz-trailer header is not supported")


def test_trailer_of_a_checksum_s3d_does_not_compute_is_not_implemented(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    sha512 = base64.b64encode(hashlib.sha512(TEN).digest()).decode()
    wire = _ten(b"x-amz-checksum-sha512:" + sha512.encode() + b"\r\n")
    status, code, _ = _refused(server, signer, s3, bucket, wire, trailer_name="x-amz-checksum-sha512")
    assert (status, code) == (501, "NotImplemented")


def test_trailer_line_without_a_colon_is_malformed_trailer(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, code, _ = _refused(server, signer, s3, bucket, _ten(b"nocolon\r\n"))
    assert (status, code) == (400, "MalformedTrailerError")


def test_trailer_not_declared_in_x_amz_trailer_is_malformed_trailer(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    wire = _ten(b"x-amz-checksum-crc32:" + _crc32(TEN).encode() + b"\r\n")
    status, code, _ = _refused(server, signer, s3, bucket, wire)
    assert (status, code) == (400, "MalformedTrailerError")


def test_declared_trailer_never_sent_is_malformed_trailer(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    status, code, _ = _refused(server, signer, s3, bucket, _ten(), trailer_name="x-amz-checksum-crc32")
    assert (status, code) == (400, "MalformedTrailerError")


def test_trailer_checksum_that_is_no_crc32_is_invalid_request(server, signer, s3, bucket):  # type: ignore[no-untyped-def]
    wire = _ten(b"x-amz-checksum-crc32:!!!\r\n")
    got = _refused(server, signer, s3, bucket, wire, trailer_name="x-amz-checksum-crc32")
    assert got == (400, "InvalidRequest", "Value for x-amz-checksum-crc32 trailing header is invalid.")


# ---------- checksum headers ----------
@pytest.mark.parametrize(
    "name, value",
    [
        ("x-amz-checksum-sha256", "zz"),
        ("x-amz-checksum-crc32", "!!!"),
        ("x-amz-checksum-crc32", base64.b64encode(b"12345").decode()),  # base64, but not 4 bytes
    ],
)
def test_checksum_header_that_is_no_digest_of_its_algorithm_is_invalid_request(server, s3, bucket, name, value):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"data", headers={name: value})
    assert (r.status, r.error_code) == (400, "InvalidRequest")
    assert r.xml().findtext("Message") == f"Value for {name} header is invalid."
    assert _absent(s3, bucket, "k")


# ---------- what s3d does not implement ----------
@pytest.mark.parametrize(
    "mode", ["STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"]
)
def test_sigv4a_streaming_payload_is_not_implemented(server, signer, s3, bucket, mode):  # type: ignore[no-untyped-def]
    status, code, _ = _refused(server, signer, s3, bucket, _ten(), mode=mode)
    assert (status, code) == (501, "NotImplemented")
