"""CopyObject: same and cross bucket, metadata directives, copy-source conditions, copies onto itself."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

BIG = os.urandom(200_000)  # above the 64 KiB inline limit: the copy goes blob to blob


def md5_etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def error_of(e: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


@pytest.fixture
def other_bucket(s3, bucket):  # type: ignore[no-untyped-def]
    name = bucket + "-dst"
    s3.create_bucket(Bucket=name)
    yield name
    for o in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=o["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def src(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="src", Body=b"source bytes", ContentType="text/plain", Metadata={"a": "1"})
    return bucket


def test_copy_within_bucket(s3, src):  # type: ignore[no-untyped-def]
    r = s3.copy_object(Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == md5_etag(b"source bytes")
    assert r["CopyObjectResult"]["LastModified"].year >= 2024
    got = s3.get_object(Bucket=src, Key="dst")
    assert got["Body"].read() == b"source bytes"
    assert s3.get_object(Bucket=src, Key="src")["Body"].read() == b"source bytes"


def test_copy_across_buckets(s3, src, other_bucket):  # type: ignore[no-untyped-def]
    s3.copy_object(Bucket=other_bucket, Key="x/y", CopySource={"Bucket": src, "Key": "src"})
    assert s3.get_object(Bucket=other_bucket, Key="x/y")["Body"].read() == b"source bytes"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=other_bucket)["Contents"]] == ["x/y"]


def test_copy_default_directive_copies_metadata(s3, src):  # type: ignore[no-untyped-def]
    s3.copy_object(Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"}, Metadata={"ignored": "yes"})
    got = s3.head_object(Bucket=src, Key="dst")
    assert got["Metadata"] == {"a": "1"}
    assert got["ContentType"] == "text/plain"


def test_copy_replace_directive_replaces_metadata(s3, src):  # type: ignore[no-untyped-def]
    s3.copy_object(
        Bucket=src,
        Key="dst",
        CopySource={"Bucket": src, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="application/json",
    )
    got = s3.get_object(Bucket=src, Key="dst")
    assert got["Metadata"] == {"b": "2"}
    assert got["ContentType"] == "application/json"
    assert got["Body"].read() == b"source bytes"


def test_copy_with_unknown_directive_is_invalid_argument(s3, src):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"}, MetadataDirective="MERGE")
    assert error_of(e) == (400, "InvalidArgument")


def test_copy_of_blob_backed_object_is_byte_identical(s3, bucket, other_bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="big", Body=BIG)
    r = s3.copy_object(Bucket=other_bucket, Key="big-copy", CopySource={"Bucket": bucket, "Key": "big"})
    assert r["CopyObjectResult"]["ETag"] == md5_etag(BIG)
    assert s3.get_object(Bucket=other_bucket, Key="big-copy")["Body"].read() == BIG


def test_copy_survives_deleting_the_source(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="big", Body=BIG)
    s3.copy_object(Bucket=bucket, Key="big-copy", CopySource={"Bucket": bucket, "Key": "big"})
    s3.delete_object(Bucket=bucket, Key="big")
    assert s3.get_object(Bucket=bucket, Key="big-copy")["Body"].read() == BIG


def test_copy_overwrites_existing_destination(s3, src):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=src, Key="dst", Body=b"old destination bytes", Metadata={"old": "x"})
    s3.copy_object(Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"})
    got = s3.get_object(Bucket=src, Key="dst")
    assert got["Body"].read() == b"source bytes"
    assert got["Metadata"] == {"a": "1"}


def test_copy_key_with_special_characters(s3, bucket):  # type: ignore[no-untyped-def]
    key = "dir with space/ü+%&?=.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"odd")
    s3.copy_object(Bucket=bucket, Key=key + ".copy", CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key=key + ".copy")["Body"].read() == b"odd"


def test_copy_from_missing_key_is_no_such_key(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "missing"})
    assert error_of(e) == (404, "NoSuchKey")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_copy_from_missing_bucket_is_no_such_bucket(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": "no-such-bucket-here", "Key": "k"})
    assert error_of(e) == (404, "NoSuchBucket")


def test_copy_onto_itself_without_replace_is_invalid_request(s3, src):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=src, Key="src", CopySource={"Bucket": src, "Key": "src"})
    assert error_of(e) == (400, "InvalidRequest")
    assert s3.head_object(Bucket=src, Key="src")["Metadata"] == {"a": "1"}


def test_copy_onto_itself_with_replace_changes_metadata_only(s3, src):  # type: ignore[no-untyped-def]
    before = s3.head_object(Bucket=src, Key="src")
    s3.copy_object(
        Bucket=src,
        Key="src",
        CopySource={"Bucket": src, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"new": "meta"},
        ContentType="text/csv",
    )
    got = s3.get_object(Bucket=src, Key="src")
    assert got["Metadata"] == {"new": "meta"}
    assert got["ContentType"] == "text/csv"
    assert got["ETag"] == before["ETag"]
    assert got["Body"].read() == b"source bytes"


# ---------- x-amz-copy-source-if-* ----------
def test_copy_source_if_match_current_etag_copies(s3, src):  # type: ignore[no-untyped-def]
    etag = md5_etag(b"source bytes")
    s3.copy_object(Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"}, CopySourceIfMatch=etag)
    assert s3.get_object(Bucket=src, Key="dst")["Body"].read() == b"source bytes"


def test_copy_source_if_match_other_etag_is_412(s3, src):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"}, CopySourceIfMatch='"abc"')
    assert error_of(e) == (412, "PreconditionFailed")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=src)["Contents"]] == ["src"]


def test_copy_source_if_none_match_current_etag_is_412(s3, src):  # type: ignore[no-untyped-def]
    etag = md5_etag(b"source bytes")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"}, CopySourceIfNoneMatch=etag)
    assert error_of(e) == (412, "PreconditionFailed")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=src)["Contents"]] == ["src"]


def test_copy_source_if_unmodified_since_before_write_is_412(s3, src):  # type: ignore[no-untyped-def]
    long_ago = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(ClientError) as e:
        s3.copy_object(
            Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"}, CopySourceIfUnmodifiedSince=long_ago
        )
    assert error_of(e) == (412, "PreconditionFailed")


def test_copy_source_if_modified_since_after_write_is_412(s3, src):  # type: ignore[no-untyped-def]
    last_modified = s3.head_object(Bucket=src, Key="src")["LastModified"]
    with pytest.raises(ClientError) as e:
        s3.copy_object(
            Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"}, CopySourceIfModifiedSince=last_modified
        )
    assert error_of(e) == (412, "PreconditionFailed")


def test_copy_source_if_modified_since_before_write_copies(s3, src):  # type: ignore[no-untyped-def]
    long_ago = datetime.now(UTC) - timedelta(days=1)
    s3.copy_object(Bucket=src, Key="dst", CopySource={"Bucket": src, "Key": "src"}, CopySourceIfModifiedSince=long_ago)
    assert s3.get_object(Bucket=src, Key="dst")["Body"].read() == b"source bytes"
