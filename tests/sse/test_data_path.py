"""Encrypted objects on the data path: ranges across segments, multipart, copies between kinds, bucket defaults."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import client_for
from tests.sse.conftest import KMS_KEY, customer, md5, random_bytes

SEG = 64 * 1024
MiB = 1024 * 1024


@pytest.mark.parametrize(
    "start,end",
    [(0, 0), (SEG - 1, SEG), (SEG - 10, 2 * SEG + 10), (SEG, 2 * SEG - 1), (3 * SEG, 3 * SEG + 99), (5, 3 * SEG + 99)],
)
def test_ranged_reads_across_segment_boundaries(s3e, ebucket: str, start: int, end: int) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(3 * SEG + 100)
    s3e.put_object(Bucket=ebucket, Key="k", Body=body, ServerSideEncryption="AES256")
    got = s3e.get_object(Bucket=ebucket, Key="k", Range=f"bytes={start}-{end}")
    assert got["Body"].read() == body[start : end + 1]
    assert got["ContentRange"] == f"bytes {start}-{end}/{len(body)}"


def test_suffix_range_of_sse_c_object(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(2 * SEG + 7)
    s3e.put_object(Bucket=ebucket, Key="k", Body=body, **customer())
    got = s3e.get_object(Bucket=ebucket, Key="k", Range="bytes=-70000", **customer())
    assert got["Body"].read() == body[-70000:]


def _multipart(s3e, bucket: str, body: bytes, part: int, create: dict, per_part: dict) -> dict:  # type: ignore[no-untyped-def,type-arg]
    up = s3e.create_multipart_upload(Bucket=bucket, Key="mp", **create)
    parts = []
    for i, off in enumerate(range(0, len(body), part), start=1):
        r = s3e.upload_part(
            Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=i, Body=body[off : off + part], **per_part
        )
        parts.append({"PartNumber": i, "ETag": r["ETag"]})
    return s3e.complete_multipart_upload(  # type: ignore[no-any-return]
        Bucket=bucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
    )


@pytest.mark.parametrize(
    "create,per_part,get",
    [
        ({"ServerSideEncryption": "AES256"}, {}, {}),
        ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY}, {}, {}),
        (customer(), customer(), customer()),
    ],
    ids=["sse-s3", "sse-kms", "sse-c"],
)
def test_multipart_each_kind(s3e, ebucket: str, create: dict, per_part: dict, get: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    body = random_bytes(5 * MiB + 3 * SEG + 11)
    done = _multipart(s3e, ebucket, body, 5 * MiB, create, per_part)
    assert done["ETag"].endswith('-2"')
    got = s3e.get_object(Bucket=ebucket, Key="mp", **get)
    assert got["Body"].read() == body
    lo, hi = 5 * MiB - 100, 5 * MiB + SEG + 5  # across the part boundary and a segment boundary
    ranged = s3e.get_object(Bucket=ebucket, Key="mp", Range=f"bytes={lo}-{hi}", **get)
    assert ranged["Body"].read() == body[lo : hi + 1]


def test_upload_part_of_sse_c_upload_needs_the_key(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    up = s3e.create_multipart_upload(Bucket=ebucket, Key="mp", **customer(1))
    for params, status in (({}, 400), (customer(2), 403)):
        with pytest.raises(ClientError) as e:
            s3e.upload_part(Bucket=ebucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"x", **params)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    s3e.abort_multipart_upload(Bucket=ebucket, Key="mp", UploadId=up["UploadId"])


KINDS = {
    "plain": ({}, {}, {}),
    "sse-s3": ({"ServerSideEncryption": "AES256"}, {}, {}),
    "sse-kms": ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY}, {}, {}),
    "sse-c": (
        customer(3),
        customer(3),
        {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": bytes([3]) * 32},
    ),
}


@pytest.mark.parametrize("size", [100, 300_000])
@pytest.mark.parametrize(
    "src,dst",
    [("plain", "sse-c"), ("sse-c", "sse-kms"), ("sse-s3", "plain"), ("sse-kms", "sse-s3"), ("sse-c", "sse-c")],
)
def test_copy_between_kinds(s3e, ebucket: str, src: str, dst: str, size: int) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(size)
    put_args, _, source_args = KINDS[src]
    dst_args, dst_get, _ = KINDS[dst]
    if dst == "sse-c":
        dst_args, dst_get = customer(4), customer(4)
    s3e.put_object(Bucket=ebucket, Key="src", Body=body, **put_args)
    r = s3e.copy_object(
        Bucket=ebucket, Key="dst", CopySource={"Bucket": ebucket, "Key": "src"}, **source_args, **dst_args
    )
    got = s3e.get_object(Bucket=ebucket, Key="dst", **dst_get)
    assert got["Body"].read() == body
    assert got.get("ServerSideEncryption") == dst_args.get("ServerSideEncryption")
    assert r["CopyObjectResult"]["ETag"] == got["ETag"]
    if dst in ("plain", "sse-s3"):
        assert got["ETag"] == f'"{md5(body)}"'


def test_copy_of_sse_c_source_needs_its_key(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    s3e.put_object(Bucket=ebucket, Key="src", Body=b"secret", **customer(5))
    with pytest.raises(ClientError) as e:
        s3e.copy_object(Bucket=ebucket, Key="dst", CopySource={"Bucket": ebucket, "Key": "src"})
    assert e.value.response["Error"]["Code"] == "InvalidRequest"


def test_copy_onto_itself_changes_the_encryption(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(200_000)
    s3e.put_object(Bucket=ebucket, Key="k", Body=body)
    s3e.copy_object(Bucket=ebucket, Key="k", CopySource={"Bucket": ebucket, "Key": "k"}, ServerSideEncryption="AES256")
    got = s3e.get_object(Bucket=ebucket, Key="k")
    assert got["ServerSideEncryption"] == "AES256" and got["Body"].read() == body


def test_upload_part_copy_between_kinds(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(6 * MiB)
    s3e.put_object(Bucket=ebucket, Key="src", Body=body, **customer(6))
    up = s3e.create_multipart_upload(Bucket=ebucket, Key="mp", ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS_KEY)
    source = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": bytes([6]) * 32}
    parts = []
    for n, rng in ((1, f"bytes=0-{5 * MiB - 1}"), (2, f"bytes={5 * MiB}-{6 * MiB - 1}")):
        r = s3e.upload_part_copy(
            Bucket=ebucket, Key="mp", UploadId=up["UploadId"], PartNumber=n,
            CopySource={"Bucket": ebucket, "Key": "src"}, CopySourceRange=rng, **source,
        )  # fmt: skip
        parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
    s3e.complete_multipart_upload(Bucket=ebucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
    got = s3e.get_object(Bucket=ebucket, Key="mp")
    assert got["ServerSideEncryption"] == "aws:kms" and got["Body"].read() == body


def test_bucket_default_encryption(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3e.get_bucket_encryption(Bucket=ebucket)
    assert e.value.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError"
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY},
        "BucketKeyEnabled": True,
    }
    s3e.put_bucket_encryption(Bucket=ebucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    assert s3e.get_bucket_encryption(Bucket=ebucket)["ServerSideEncryptionConfiguration"]["Rules"] == [rule]
    s3e.put_object(Bucket=ebucket, Key="k", Body=b"follows the default")
    head = s3e.head_object(Bucket=ebucket, Key="k")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == KMS_KEY and head["BucketKeyEnabled"]
    # a request's own headers win over the default
    s3e.put_object(Bucket=ebucket, Key="c", Body=b"own key", **customer())
    assert "ServerSideEncryption" not in s3e.head_object(Bucket=ebucket, Key="c", **customer())
    s3e.delete_bucket_encryption(Bucket=ebucket)
    s3e.put_object(Bucket=ebucket, Key="p", Body=b"plain again")
    assert "ServerSideEncryption" not in s3e.head_object(Bucket=ebucket, Key="p")


def test_bucket_default_with_unknown_kms_key_is_refused(s3e, ebucket: str) -> None:  # type: ignore[no-untyped-def]
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "nope"}}
    with pytest.raises(ClientError) as e:
        s3e.put_bucket_encryption(Bucket=ebucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    assert e.value.response["Error"]["Code"] == "KMS.NotFoundException"


def test_post_object_follows_sse_fields_and_the_bucket_default(s3e, ebucket: str, sse_server) -> None:  # type: ignore[no-untyped-def]
    from tests.api.test_post_object import _post

    v4 = client_for(sse_server.endpoint, sse_server.access_key, sse_server.secret_key, signature_version="s3v4")
    body = random_bytes(150_000)
    p = v4.generate_presigned_post(
        ebucket, "form", Fields={"x-amz-server-side-encryption": "AES256"},
        Conditions=[{"x-amz-server-side-encryption": "AES256"}],
    )  # fmt: skip
    status, headers, text = _post(p["url"], p["fields"], body)
    assert status == 204, text
    assert headers["x-amz-server-side-encryption"] == "AES256"
    assert s3e.get_object(Bucket=ebucket, Key="form")["Body"].read() == body
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY}}
    s3e.put_bucket_encryption(Bucket=ebucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    p = v4.generate_presigned_post(ebucket, "default")
    status, headers, text = _post(p["url"], p["fields"], body)
    assert status == 204, text
    head = s3e.head_object(Bucket=ebucket, Key="default")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == KMS_KEY
