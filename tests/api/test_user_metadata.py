"""Non-ASCII user metadata through the real daemon: RFC 2047 encoded-words decoded on the way in, values that are
not plain ASCII answered as one =?UTF-8?B?...?= encoded-word, as AWS does (docs/compatibility.md, User metadata).

botocore refuses non-ASCII metadata values, so the clients here send them encoded, as a client must for S3."""

from __future__ import annotations

import base64

import pytest
from botocore.exceptions import ClientError

from s3d.user_metadata import decode
from tests.api.test_post_object import _post
from tests.support.rawhttp import call
from tests.support.server import S3dProcess

TEXT = "Grüße, 東京 ✓"
B_WORD = "=?UTF-8?B?" + base64.b64encode(TEXT.encode()).decode() + "?="  # what S3 answers for TEXT
Q_WORD = "=?UTF-8?Q?Gr=C3=BC=C3=9Fe,_=E6=9D=B1=E4=BA=AC_=E2=9C=93?="


def error_of(e: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"], e.value.response["Error"]["Code"]


def test_encoded_value_is_answered_as_s3_answers_it(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(
        Bucket=bucket, Key="k", Body=b"x", Metadata={"b": B_WORD, "q": Q_WORD, "plain": "=?UTF-8?B?SGVsbG8=?="}
    )
    for got in (s3.head_object(Bucket=bucket, Key="k"), s3.get_object(Bucket=bucket, Key="k")):
        assert got["Metadata"] == {"b": B_WORD, "q": B_WORD, "plain": "Hello"}
        assert decode(got["Metadata"]["q"]) == TEXT


def test_raw_utf8_header_bytes_are_read_as_iso_8859_1_as_in_aws_example(server: S3dProcess, bucket: str) -> None:
    raw = "ÄMÄZÕÑ S3".encode().decode("latin-1")  # http.client sends this str as the raw UTF-8 bytes
    assert call(server, "PUT", f"/{bucket}/k", headers={"x-amz-meta-nonascii": raw}, body=b"x").status == 200
    got = call(server, "HEAD", f"/{bucket}/k")
    assert got.headers["x-amz-meta-nonascii"] == "=?UTF-8?B?w4PChE3Dg8KEWsODwpXDg8KRIFMz?="  # AWS's documented answer


def test_a_malformed_encoded_word_is_stored_and_answered_as_sent(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"m": "=?UTF-8?B?not-base64?="})
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"m": "=?UTF-8?B?not-base64?="}


def test_copy_replace_decodes_and_copy_keeps(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Metadata={"m": "ascii"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"m": Q_WORD})  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="dst")["Metadata"] == {"m": B_WORD}
    s3.copy_object(Bucket=bucket, Key="again", CopySource={"Bucket": bucket, "Key": "dst"})
    assert s3.head_object(Bucket=bucket, Key="again")["Metadata"] == {"m": B_WORD}


def test_copy_replace_keeps_a_malformed_word_as_sent(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"m": "=?UTF-9?Q?x?="})  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="dst")["Metadata"] == {"m": "=?UTF-9?Q?x?="}


def test_multipart_upload_keeps_decoded_metadata(s3, bucket):  # type: ignore[no-untyped-def]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"m": Q_WORD})["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"part")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="mp")["Metadata"] == {"m": B_WORD}


def test_multipart_keeps_a_malformed_word_as_sent(s3, bucket):  # type: ignore[no-untyped-def]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"m": "=?UTF-8?Q?=ZZ?="})["UploadId"]
    assert s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["UploadId"] == uid
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"part")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="mp")["Metadata"] == {"m": "=?UTF-8?Q?=ZZ?="}


def test_size_limit_counts_decoded_utf8_bytes(s3, bucket):  # type: ignore[no-untyped-def]
    # 1500 bytes once decoded, 2012 characters on the wire: within the limit
    fits = "=?UTF-8?B?" + base64.b64encode(b"a" * 1500).decode() + "?="
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"m": fits})
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"m": "a" * 1500}
    # 1025 two-byte characters: 2050 bytes of UTF-8, though 1025 characters
    over = "=?UTF-8?B?" + base64.b64encode(("é" * 1025).encode()).decode() + "?="
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="big", Body=b"x", Metadata={"m": over})
    assert error_of(e) == (400, "MetadataTooLarge")


def test_post_form_field_is_read_as_utf8_text(s3, bucket):  # type: ignore[no-untyped-def]
    p = s3.generate_presigned_post(bucket, "k", Fields={"x-amz-meta-m": TEXT}, Conditions=[{"x-amz-meta-m": TEXT}])
    status, _, body = _post(p["url"], p["fields"], b"x")
    assert status == 204, body
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"m": B_WORD}


def test_post_form_field_name_that_is_no_header_name_is_invalid_argument(s3, bucket):  # type: ignore[no-untyped-def]
    p = s3.generate_presigned_post(bucket, "k", Fields={"x-amz-meta-a b": "v"}, Conditions=[{"x-amz-meta-a b": "v"}])
    status, _, body = _post(p["url"], p["fields"], b"x")
    assert status == 400 and b"<Code>InvalidArgument</Code>" in body
