"""Integers in requests are read as S3 reads them: ASCII digits within the range of their type (int32 for
counts and part numbers, long for sizes and byte positions). What Python's int() also takes (``+5``, `` 5``,
``1_0``, Arabic-Indic ``١``, numbers of any size) is refused with AWS's error, never read as a number;
``²`` (str.isdigit() says yes, int() says no) is refused too, not a 500."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import _names
from tests.support.rawhttp import RawResponse, call
from tests.support.server import S3dProcess

NOT_S3_INTEGERS = [
    "1_0",  # int() reads 10
    "%2B5",  # +5
    "%205",  # " 5"
    "%D9%A1",  # Arabic-Indic one
    "2147483648",  # int32 max + 1
    "99999999999999999999999",
]
SUPERSCRIPT_TWO = "\xb2"  # latin-1, so it can be sent in a header; str.isdigit() is True, int() fails
LONG_NUMBER = "9" * 5000  # past Python's int() digit limit


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def _error(r: RawResponse) -> tuple[int, str | None]:
    return r.status, r.error_code


def _argument_name(r: RawResponse) -> str | None:
    return r.xml().findtext("ArgumentName")


@pytest.fixture
def upload(s3: Any, bucket: str) -> Iterator[tuple[str, str]]:
    """(bucket, upload id) of an upload of key "mp" with one part, number 1."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"part one")
    yield bucket, uid
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid)


# ---------- query parameters ----------
@pytest.mark.parametrize("raw", NOT_S3_INTEGERS)
def test_max_keys_that_is_not_an_s3_integer_is_invalid_argument(server: S3dProcess, bucket: str, raw: str) -> None:
    r = call(server, "GET", f"/{bucket}", query=f"max-keys={raw}")
    assert _error(r) == (400, "InvalidArgument")
    assert _argument_name(r) == "max-keys"


@pytest.mark.parametrize("query", ["versions&max-keys=1_0", "uploads&max-uploads=1_0", "uploads&max-uploads=%2B5"])
def test_bucket_listing_counts_that_are_not_s3_integers_are_invalid_argument(
    server: S3dProcess, bucket: str, query: str
) -> None:
    assert _error(call(server, "GET", f"/{bucket}", query=query)) == (400, "InvalidArgument")


@pytest.mark.parametrize("param", ["max-parts=1_0", "max-parts=%205", "part-number-marker=99999999999999999999999"])
def test_list_parts_counts_that_are_not_s3_integers_are_invalid_argument(
    server: S3dProcess, upload: tuple[str, str], param: str
) -> None:
    bucket, uid = upload
    assert _error(call(server, "GET", f"/{bucket}/mp", query=f"uploadId={uid}&{param}")) == (400, "InvalidArgument")


@pytest.mark.parametrize("raw", ["%2B1", "1_0", "%201", "%D9%A1"])
def test_get_part_number_that_is_not_an_s3_integer_is_invalid_argument(
    server: S3dProcess, bucket: str, raw: str
) -> None:
    assert call(server, "PUT", f"/{bucket}/obj", body=b"0123456789").status == 200
    r = call(server, "GET", f"/{bucket}/obj", query=f"partNumber={raw}")
    assert _error(r) == (400, "InvalidArgument")
    assert _argument_name(r) == "partNumber"


@pytest.mark.parametrize("raw", ["1_0", "%2B2", "%205"])
def test_upload_part_number_that_is_not_an_s3_integer_is_invalid_argument(
    server: S3dProcess, upload: tuple[str, str], raw: str
) -> None:
    bucket, uid = upload
    r = call(server, "PUT", f"/{bucket}/mp", query=f"partNumber={raw}&uploadId={uid}", body=b"data")
    assert _error(r) == (400, "InvalidArgument")


@pytest.mark.parametrize("raw", ["%C2%B2", "%D9%A1"])
def test_max_buckets_that_is_not_an_s3_integer_is_invalid_argument(server: S3dProcess, raw: str) -> None:
    assert _error(call(server, "GET", "/", query=f"max-buckets={raw}")) == (400, "InvalidArgument")


# ---------- headers ----------
def test_mp_object_size_with_a_superscript_digit_is_invalid_argument(
    server: S3dProcess, upload: tuple[str, str]
) -> None:
    bucket, uid = upload
    body = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"
    r = call(
        server, "POST", f"/{bucket}/mp", query=f"uploadId={uid}", body=body,
        headers={"x-amz-mp-object-size": SUPERSCRIPT_TWO},
    )  # fmt: skip
    assert _error(r) == (400, "InvalidArgument")


@pytest.mark.parametrize("header", ["x-amz-max-parts", "x-amz-part-number-marker"])
def test_object_attributes_part_counts_that_are_not_s3_integers_are_invalid_argument(
    s3: Any, server: S3dProcess, bucket: str, header: str
) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"x")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload=parts)
    headers = {"x-amz-object-attributes": "ObjectParts", header: "+1"}
    assert _error(call(server, "GET", f"/{bucket}/mp", query="attributes", headers=headers)) == (400, "InvalidArgument")


def test_if_match_size_of_thousands_of_digits_is_invalid_argument(server: S3dProcess, bucket: str) -> None:
    assert call(server, "PUT", f"/{bucket}/obj", body=b"x").status == 200
    r = call(server, "DELETE", f"/{bucket}/obj", headers={"x-amz-if-match-size": LONG_NUMBER})
    assert _error(r) == (400, "InvalidArgument")


def test_copy_source_range_with_a_sign_is_invalid_argument(server: S3dProcess, upload: tuple[str, str]) -> None:
    bucket, uid = upload
    assert call(server, "PUT", f"/{bucket}/src", body=b"0123456789").status == 200
    headers = {"x-amz-copy-source": f"/{bucket}/src", "x-amz-copy-source-range": "bytes=+0-1"}
    r = call(server, "PUT", f"/{bucket}/mp", query=f"partNumber=2&uploadId={uid}", headers=headers)
    assert _error(r) == (400, "InvalidArgument")


# ---------- XML elements ----------
@pytest.mark.parametrize("number", [" 1", "\u0661", "+1"])
def test_complete_part_number_that_is_not_an_s3_integer_is_malformed_xml(
    s3: Any, server: S3dProcess, upload: tuple[str, str], number: str
) -> None:
    bucket, uid = upload
    etag = s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["Parts"][0]["ETag"]
    body = (
        f"<CompleteMultipartUpload><Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"
        "</CompleteMultipartUpload>"
    ).encode()
    assert _error(call(server, "POST", f"/{bucket}/mp", query=f"uploadId={uid}", body=body)) == (400, "MalformedXML")


@pytest.fixture
def lock_bucket(s3: Any) -> str:
    name = f"lock-{next(_names)}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _lock_configuration(period: str) -> bytes:
    return (
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
        f"<Mode>GOVERNANCE</Mode>{period}</DefaultRetention></Rule></ObjectLockConfiguration>"
    ).encode()


def _put_lock_configuration(server: S3dProcess, bucket: str, body: bytes) -> RawResponse:
    return call(server, "PUT", f"/{bucket}", query="object-lock", body=body, headers={"Content-MD5": _md5(body)})


def test_default_retention_with_a_superscript_digit_is_invalid_argument(server: S3dProcess, lock_bucket: str) -> None:
    r = _put_lock_configuration(server, lock_bucket, _lock_configuration("<Days>\u00b2</Days>"))
    assert _error(r) == (400, "InvalidArgument")


@pytest.mark.parametrize("period", ["<Years>101</Years>", "<Days>36501</Days>", "<Years>2147483647</Years>"])
def test_default_retention_past_100_years_is_invalid_argument(
    server: S3dProcess, lock_bucket: str, period: str
) -> None:
    assert _error(_put_lock_configuration(server, lock_bucket, _lock_configuration(period))) == (400, "InvalidArgument")


def test_cors_max_age_with_a_space_is_malformed_xml(server: S3dProcess, bucket: str) -> None:
    body = (
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        b"<MaxAgeSeconds> 30</MaxAgeSeconds></CORSRule></CORSConfiguration>"
    )
    r = call(server, "PUT", f"/{bucket}", query="cors", body=body, headers={"Content-MD5": _md5(body)})
    assert _error(r) == (400, "MalformedXML")
