"""The basic object round trip through boto3 with its default (checksumming) configuration."""

from __future__ import annotations

import hashlib


def test_put_get_round_trip(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(
        Bucket=bucket, Key="dir/hello.txt", Body=b"hello world", ContentType="text/plain", Metadata={"a": "1"}
    )
    got = s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"a": "1"}
    assert got["ETag"] == f'"{hashlib.md5(b"hello world").hexdigest()}"'


def test_large_object_streams_to_blob(s3, bucket):  # type: ignore[no-untyped-def]
    body = bytes(range(256)) * 8192  # 2 MiB: above the inline threshold
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body
    part = s3.get_object(Bucket=bucket, Key="big", Range="bytes=1000-1999")
    assert part["Body"].read() == body[1000:2000]
    assert part["ContentRange"] == f"bytes 1000-1999/{len(body)}"


def test_listing_shows_keys_and_prefixes(s3, bucket):  # type: ignore[no-untyped-def]
    for k in ["a/1", "a/2", "b", "c/d/e"]:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["b"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "c/"]
    r = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in r["Contents"]] == ["a/1", "a/2", "b", "c/d/e"]
