"""Round trips for each kind of server-side encryption with boto3: headers, ETags, errors."""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError

from tests.sse.conftest import KMS_KEY, customer, md5, random_bytes

SIZES = [0, 100, 200_000]  # empty, inline, a blob of several segments


def code(e: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


@pytest.mark.parametrize("size", SIZES)
def test_sse_s3_round_trip(s3e, ebucket: str, size: int) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(size)
    put = s3e.put_object(Bucket=ebucket, Key="k", Body=body, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == f'"{md5(body)}"'  # SSE-S3 ETags are the MD5 of the data, as on AWS
    got = s3e.get_object(Bucket=ebucket, Key="k")
    assert got["Body"].read() == body
    assert got["ServerSideEncryption"] == "AES256"
    assert s3e.head_object(Bucket=ebucket, Key="k")["ServerSideEncryption"] == "AES256"


@pytest.mark.parametrize("size", SIZES)
def test_sse_kms_round_trip_with_a_keyring_key(s3e, ebucket: str, size: int) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(size)
    put = s3e.put_object(Bucket=ebucket, Key="k", Body=body, ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS_KEY)
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == KMS_KEY
    assert put["ETag"] != f'"{md5(body)}"'  # not the MD5 of the data for SSE-KMS
    got = s3e.get_object(Bucket=ebucket, Key="k")
    assert got["Body"].read() == body
    assert got["SSEKMSKeyId"] == KMS_KEY and got["ETag"] == put["ETag"]


def test_sse_kms_without_key_id_uses_the_default_key(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    put = s3e.put_object(Bucket=ebucket, Key="k", Body=b"data", ServerSideEncryption="aws:kms")
    assert put["SSEKMSKeyId"] == "aws/s3"
    assert s3e.get_object(Bucket=ebucket, Key="k")["Body"].read() == b"data"


def test_sse_kms_unknown_key_is_kms_not_found(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3e.put_object(Bucket=ebucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="nope")
    assert code(e) == (400, "KMS.NotFoundException")


def test_sse_kms_encryption_context_and_bucket_key(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    context = base64.b64encode(b'{"app":"photos"}').decode()
    put = s3e.put_object(
        Bucket=ebucket, Key="k", Body=b"data", ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS_KEY,
        SSEKMSEncryptionContext=context, BucketKeyEnabled=True,
    )  # fmt: skip
    assert put["SSEKMSEncryptionContext"] == context and put["BucketKeyEnabled"] is True
    head = s3e.head_object(Bucket=ebucket, Key="k")
    assert head["BucketKeyEnabled"] is True
    with pytest.raises(ClientError) as e:
        s3e.put_object(
            Bucket=ebucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSEncryptionContext="notjson"
        )
    assert code(e) == (400, "InvalidArgument")


@pytest.mark.parametrize("size", SIZES)
def test_sse_c_round_trip(s3e, ebucket: str, size: int) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(size)
    put = s3e.put_object(Bucket=ebucket, Key="k", Body=body, **customer())
    assert put["SSECustomerAlgorithm"] == "AES256"
    key_md5 = base64.b64encode(hashlib.md5(bytes([1]) * 32).digest()).decode()
    assert put["SSECustomerKeyMD5"] == key_md5
    assert put["ETag"] != f'"{md5(body)}"'
    got = s3e.get_object(Bucket=ebucket, Key="k", **customer())
    assert got["Body"].read() == body and got["SSECustomerKeyMD5"] == key_md5
    assert s3e.head_object(Bucket=ebucket, Key="k", **customer())["ContentLength"] == size


def test_sse_c_object_needs_its_key(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    s3e.put_object(Bucket=ebucket, Key="k", Body=b"secret", **customer())
    with pytest.raises(ClientError) as e:
        s3e.get_object(Bucket=ebucket, Key="k")
    assert code(e) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as e:
        s3e.head_object(Bucket=ebucket, Key="k")
    assert code(e)[0] == 400


def test_sse_c_wrong_key_is_access_denied(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    s3e.put_object(Bucket=ebucket, Key="k", Body=b"secret", **customer(1))
    with pytest.raises(ClientError) as e:
        s3e.get_object(Bucket=ebucket, Key="k", **customer(2))
    assert code(e) == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        s3e.get_object(Bucket=ebucket, Key="k", Range="bytes=1-2", **customer(2))
    assert code(e) == (403, "AccessDenied")


def test_customer_key_on_an_object_that_is_not_sse_c(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    s3e.put_object(Bucket=ebucket, Key="k", Body=b"plain")
    with pytest.raises(ClientError) as e:
        s3e.get_object(Bucket=ebucket, Key="k", **customer())
    assert code(e) == (400, "InvalidRequest")


def test_bad_header_combinations(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    cases = [
        {"ServerSideEncryption": "AES256", **customer()},
        {"ServerSideEncryption": "AES256", "SSEKMSKeyId": KMS_KEY},
        {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": b"short"},
    ]
    for params in cases:
        with pytest.raises(ClientError) as e:
            s3e.put_object(Bucket=ebucket, Key="k", Body=b"x", **params)
        assert code(e) == (400, "InvalidArgument"), params
    with pytest.raises(ClientError) as e:
        s3e.put_object(Bucket=ebucket, Key="k", Body=b"x", SSECustomerAlgorithm="AES128", SSECustomerKey=b"k" * 32)
    assert code(e) == (400, "InvalidEncryptionAlgorithmError")


def test_sse_header_on_get_is_refused(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    s3e.put_object(Bucket=ebucket, Key="k", Body=b"x", ServerSideEncryption="AES256")
    s3e.put_object(Bucket=ebucket, Key="plain", Body=b"x")

    def add_header(request, **_: object) -> None:  # type: ignore[no-untyped-def]
        request.headers["x-amz-server-side-encryption"] = "AES256"

    s3e.meta.events.register_first("before-sign.s3.GetObject", add_header)
    try:
        for key in ("k", "plain"):
            with pytest.raises(ClientError) as e:
                s3e.get_object(Bucket=ebucket, Key=key)
            assert code(e) == (400, "InvalidArgument")
    finally:
        s3e.meta.events.unregister("before-sign.s3.GetObject", add_header)


def test_attributes_of_an_sse_c_object_need_its_key(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    s3e.put_object(Bucket=ebucket, Key="k", Body=b"secret", **customer(1))
    with pytest.raises(ClientError) as e:
        s3e.get_object_attributes(Bucket=ebucket, Key="k", ObjectAttributes=["ObjectSize"])
    assert code(e) == (400, "InvalidRequest")
    key = bytes([1]) * 32  # botocore leaves encoding the key and its MD5 to the caller for this operation
    encoded = {
        "SSECustomerAlgorithm": "AES256",
        "SSECustomerKey": base64.b64encode(key).decode(),
        "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }
    got = s3e.get_object_attributes(Bucket=ebucket, Key="k", ObjectAttributes=["ObjectSize"], **encoded)
    assert got["ObjectSize"] == 6
