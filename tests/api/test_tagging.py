"""Object and bucket tagging, x-amz-tagging on PUT and copy, GetObjectAttributes."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def _tags(resp):  # type: ignore[no-untyped-def]
    return sorted((t["Key"], t["Value"]) for t in resp["TagSet"])


def test_put_get_delete_object_tagging(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(
        Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}]}
    )
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="k")) == [("a", "1"), ("b", "")]
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 2
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="k")) == []


def test_tagging_header_on_put(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="s3d.upload=false&team=a%20b")
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="k")) == [("s3d.upload", "false"), ("team", "a b")]


def test_more_than_ten_tags_rejected(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(
            Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}
        )
    assert e.value.response["Error"]["Code"] in ("BadRequest", "InvalidTag")
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="k")) == []


def test_tag_key_too_long_rejected(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "k" * 129, "Value": "v"}]})
    assert e.value.response["Error"]["Code"] == "InvalidTag"


def test_tagging_missing_object_is_no_such_key(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.get_object_tagging(Bucket=bucket, Key="nope")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"


def test_copy_keeps_or_replaces_tags(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    s3.copy_object(Bucket=bucket, Key="same", CopySource=f"{bucket}/src")
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="same")) == [("a", "1")]
    s3.copy_object(Bucket=bucket, Key="new", CopySource=f"{bucket}/src", TaggingDirective="REPLACE", Tagging="b=2")
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="new")) == [("b", "2")]


def test_bucket_tagging(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "edge"}]})
    assert _tags(s3.get_bucket_tagging(Bucket=bucket)) == [("env", "edge")]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=bucket)


def test_get_object_attributes_single_part(s3, bucket):  # type: ignore[no-untyped-def]
    r = s3.put_object(Bucket=bucket, Key="k", Body=b"hello", ChecksumAlgorithm="SHA256")
    a = s3.get_object_attributes(
        Bucket=bucket, Key="k", ObjectAttributes=["ETag", "Checksum", "ObjectSize", "StorageClass"]
    )
    assert a["ETag"] == r["ETag"].strip('"')
    assert a["ObjectSize"] == 5
    assert a["StorageClass"] == "STANDARD"
    assert a["Checksum"]["ChecksumSHA256"] == r["ChecksumSHA256"]


def test_get_object_attributes_parts(s3, bucket):  # type: ignore[no-untyped-def]
    mib = 1024 * 1024
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="CRC32C")["UploadId"]
    done = []
    for i, data in enumerate([b"a" * 5 * mib, b"b"], 1):
        r = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=i, Body=data, ChecksumAlgorithm="CRC32C")
        done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32C": r["ChecksumCRC32C"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": done})
    a = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=1)
    op = a["ObjectParts"]
    assert op["TotalPartsCount"] == 2 and op["IsTruncated"]
    assert [(p["PartNumber"], p["Size"], p["ChecksumCRC32C"]) for p in op["Parts"]] == [
        (1, 5 * mib, done[0]["ChecksumCRC32C"])
    ]
