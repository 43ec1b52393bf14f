"""PutObject, GetObject, HeadObject, ranges, response overrides, DeleteObject and DeleteObjects."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from tests.support import rawhttp

BIG = bytes(range(256)) * 300  # 76,800 bytes: above the 64 KiB inline limit, so blob-backed


def md5_etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def error_of(e: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


# ---------- PutObject / GetObject / HeadObject ----------
def test_put_answers_md5_etag(s3, bucket):  # type: ignore[no-untyped-def]
    r = s3.put_object(Bucket=bucket, Key="k", Body=b"some bytes")
    assert r["ETag"] == md5_etag(b"some bytes")


def test_get_returns_stored_bytes_and_etag(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"some bytes")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"some bytes"
    assert got["ETag"] == md5_etag(b"some bytes")
    assert got["ContentLength"] == 10


def test_user_metadata_round_trips(s3, bucket):  # type: ignore[no-untyped-def]
    meta = {"color": "blue", "mixed-case": "Value With Spaces", "empty": ""}
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata=meta)
    assert s3.get_object(Bucket=bucket, Key="k")["Metadata"] == meta
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == meta


def test_content_headers_round_trip_on_get(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(
        Bucket=bucket,
        Key="k",
        Body=b"x",
        ContentType="text/csv; charset=utf-8",
        ContentEncoding="gzip",
        ContentDisposition='attachment; filename="a b.csv"',
        ContentLanguage="de-CH",
        CacheControl="max-age=60, private",
        Expires=datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC),
    )
    h = s3.get_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    assert h["content-type"] == "text/csv; charset=utf-8"
    assert h["content-encoding"] == "gzip"
    assert h["content-disposition"] == 'attachment; filename="a b.csv"'
    assert h["content-language"] == "de-CH"
    assert h["cache-control"] == "max-age=60, private"
    assert h["expires"] == "Tue, 06 May 2031 07:08:09 GMT"


def test_content_headers_round_trip_on_head(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"xyz", ContentType="image/png", CacheControl="no-cache")
    r = s3.head_object(Bucket=bucket, Key="k")
    assert r["ContentType"] == "image/png"
    assert r["CacheControl"] == "no-cache"
    assert r["ContentLength"] == 3
    assert r["ETag"] == md5_etag(b"xyz")


def test_default_content_type_is_binary_octet_stream(server, bucket):  # type: ignore[no-untyped-def]
    assert rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"x").status == 200
    r = rawhttp.call(server, "GET", f"/{bucket}/k")
    assert r.headers["content-type"] == "binary/octet-stream"


def test_head_has_no_body_but_content_length(server, bucket):  # type: ignore[no-untyped-def]
    rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"12345")
    r = rawhttp.call(server, "HEAD", f"/{bucket}/k")
    assert r.status == 200
    assert r.body == b""
    assert r.headers["content-length"] == "5"
    assert r.headers["last-modified"].endswith(" GMT")


def test_last_modified_is_reported_by_get_and_listing(s3, bucket):  # type: ignore[no-untyped-def]
    before = datetime.now(UTC).replace(microsecond=0)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    got = s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"][0]["LastModified"]
    assert got >= before
    assert listed.replace(microsecond=0) == got


def test_overwrite_replaces_bytes_and_metadata(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"first", Metadata={"v": "1"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"second!", ContentType="text/plain")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"second!"
    assert got["Metadata"] == {}
    assert got["ContentType"] == "text/plain"


def test_empty_object(s3, bucket):  # type: ignore[no-untyped-def]
    r = s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert r["ETag"] == md5_etag(b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ContentLength"] == 0
    assert s3.list_objects_v2(Bucket=bucket)["Contents"][0]["Size"] == 0


def test_blob_backed_object_round_trips(s3, bucket):  # type: ignore[no-untyped-def]
    r = s3.put_object(Bucket=bucket, Key="big", Body=BIG)
    assert r["ETag"] == md5_etag(BIG)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == BIG


def test_get_missing_key_is_no_such_key(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_of(e) == (404, "NoSuchKey")
    assert e.value.response["Error"]["Key"] == "nope"


def test_head_missing_key_is_404_without_body(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "HEAD", f"/{bucket}/nope")
    assert (r.status, r.body) == (404, b"")
    assert r.headers["x-amz-error-code"] == "NoSuchKey"


def test_get_in_missing_bucket_is_no_such_bucket(s3):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="no-such-bucket-here", Key="k")
    assert error_of(e) == (404, "NoSuchBucket")


def test_put_in_missing_bucket_is_no_such_bucket(s3):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="no-such-bucket-here", Key="k", Body=b"x")
    assert error_of(e) == (404, "NoSuchBucket")


def test_user_metadata_over_2_kib_is_metadata_too_large(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"big": "v" * 2100})
    assert error_of(e) == (400, "MetadataTooLarge")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_put_without_content_length_is_missing_content_length(server, bucket):  # type: ignore[no-untyped-def]
    target, headers = rawhttp.sign(
        server.endpoint,
        "PUT",
        f"/{bucket}/k",
        access_key=server.access_key,
        secret_key=server.secret_key,
        payload_hash="UNSIGNED-PAYLOAD",
        content_length=False,
    )
    r = rawhttp.send(server.endpoint, "PUT", target, headers)
    assert (r.status, r.error_code) == (411, "MissingContentLength")


# ---------- keys ----------
ODD_KEYS = [
    "ünïcødé/日本語/😀",
    "with space",
    "plus+sign",
    "percent%20literal%",
    "../dot-dot",
    "a/../b",
    "./dot",
    "double//slash",
    "/leading-slash",
    "trailing/",
    "query?x=1&y=#frag",
    "tilde~star*paren()",
    "semi;colon:comma,at@dollar$",
]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_odd_key_round_trips_and_lists(s3, bucket, key):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]


def test_odd_keys_are_distinct_objects(s3, bucket):  # type: ignore[no-untyped-def]
    for k in ["a b", "a+b", "a%20b", "a//b", "a/b", "/a/b"]:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    for k in ["a b", "a+b", "a%20b", "a//b", "a/b", "/a/b"]:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(["a b", "a+b", "a%20b", "a//b", "a/b", "/a/b"], key=str.encode)


def test_percent_encoded_key_in_raw_path(server, bucket):  # type: ignore[no-untyped-def]
    key = "ä ö/x+y"
    r = rawhttp.call(server, "PUT", f"/{bucket}/{quote(key, safe='/')}", body=b"raw")
    assert r.status == 200
    got = rawhttp.call(server, "GET", f"/{bucket}/{quote(key, safe='')}")  # '/' encoded as %2F
    assert (got.status, got.body) == (200, b"raw")


def test_key_of_1024_bytes_is_accepted(s3, bucket):  # type: ignore[no-untyped-def]
    key = "k" * 1022 + "ü"  # 1024 bytes of UTF-8
    assert len(key.encode()) == 1024
    s3.put_object(Bucket=bucket, Key=key, Body=b"long")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"long"


def test_key_of_1025_bytes_is_key_too_long(s3, bucket):  # type: ignore[no-untyped-def]
    key = "k" * 1025
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=key, Body=b"long")
    assert error_of(e) == (400, "KeyTooLongError")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


# ---------- ranges ----------
DATA = bytes(range(100))


@pytest.fixture
def ranged(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    return bucket


@pytest.mark.parametrize(
    "spec, start, end",
    [
        ("bytes=10-19", 10, 19),
        ("bytes=0-0", 0, 0),
        ("bytes=90-", 90, 99),  # open-ended
        ("bytes=-7", 93, 99),  # suffix
        ("bytes=-500", 0, 99),  # suffix longer than the object
        ("bytes=95-1000", 95, 99),  # end past the object
    ],
)
def test_range_answers_206_with_content_range(s3, ranged, spec, start, end):  # type: ignore[no-untyped-def]
    r = s3.get_object(Bucket=ranged, Key="r", Range=spec)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["ContentRange"] == f"bytes {start}-{end}/100"
    assert r["ContentLength"] == end - start + 1
    assert r["Body"].read() == DATA[start : end + 1]


def test_range_on_blob_backed_object(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="big", Body=BIG)
    r = s3.get_object(Bucket=bucket, Key="big", Range="bytes=65530-65545")
    assert r["Body"].read() == BIG[65530:65546]
    assert r["ContentRange"] == f"bytes 65530-65545/{len(BIG)}"


@pytest.mark.parametrize("spec", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_unsatisfiable_range_is_416_invalid_range(server, ranged, spec):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{ranged}/r", headers={"Range": spec})
    assert (r.status, r.error_code) == (416, "InvalidRange")
    assert r.xml().findtext("ActualObjectSize") == "100"
    assert r.headers["content-range"] == "bytes */100"


def test_range_on_empty_object_is_416(server, bucket):  # type: ignore[no-untyped-def]
    rawhttp.call(server, "PUT", f"/{bucket}/e", body=b"")
    r = rawhttp.call(server, "GET", f"/{bucket}/e", headers={"Range": "bytes=0-"})
    assert (r.status, r.error_code) == (416, "InvalidRange")


@pytest.mark.parametrize("spec", ["bytes=5-2", "bytes=a-b", "items=0-1", "bytes=0-1,3-4"])
def test_unusable_range_is_ignored(server, ranged, spec):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{ranged}/r", headers={"Range": spec})
    assert r.status == 200
    assert r.body == DATA
    assert "content-range" not in r.headers


def test_head_with_range_reports_partial_length(server, ranged):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "HEAD", f"/{ranged}/r", headers={"Range": "bytes=0-9"})
    assert r.status == 206
    assert r.headers["content-length"] == "10"
    assert r.headers["content-range"] == "bytes 0-9/100"


# ---------- response-* overrides ----------
def test_response_overrides_replace_headers(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ContentType="text/plain", CacheControl="no-cache")
    r = s3.get_object(
        Bucket=bucket,
        Key="k",
        ResponseContentType="application/json",
        ResponseContentDisposition='attachment; filename="r.json"',
        ResponseCacheControl="max-age=5",
        ResponseContentLanguage="fr",
        ResponseContentEncoding="identity",
        ResponseExpires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    h = r["ResponseMetadata"]["HTTPHeaders"]
    assert h["content-type"] == "application/json"
    assert h["content-disposition"] == 'attachment; filename="r.json"'
    assert h["cache-control"] == "max-age=5"
    assert h["content-language"] == "fr"
    assert h["content-encoding"] == "identity"
    assert h["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert r["Body"].read() == b"x"


def test_response_override_does_not_change_stored_headers(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ContentType="text/plain")
    s3.get_object(Bucket=bucket, Key="k", ResponseContentType="application/json")
    assert s3.head_object(Bucket=bucket, Key="k")["ContentType"] == "text/plain"


# ---------- DeleteObject ----------
def test_delete_object_removes_it(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    r = s3.delete_object(Bucket=bucket, Key="k")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert error_of(e) == (404, "NoSuchKey")


def test_delete_missing_key_is_204(s3, bucket):  # type: ignore[no-untyped-def]
    r = s3.delete_object(Bucket=bucket, Key="never-was")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_in_missing_bucket_is_no_such_bucket(s3):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket="no-such-bucket-here", Key="k")
    assert error_of(e) == (404, "NoSuchBucket")


def test_delete_blob_backed_object(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="big", Body=BIG)
    s3.delete_object(Bucket=bucket, Key="big")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


# ---------- DeleteObjects ----------
def test_delete_objects_reports_each_deleted_key(s3, bucket):  # type: ignore[no-untyped-def]
    for k in ["a", "b", "c"]:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "c"}, {"Key": "missing"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["a", "c", "missing"]
    assert "Errors" not in r
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["b"]


def test_delete_objects_quiet_reports_nothing_on_success(s3, bucket):  # type: ignore[no-untyped-def]
    for k in ["a", "b"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}], "Quiet": True})
    assert "Deleted" not in r
    assert "Errors" not in r
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_delete_objects_reports_per_key_errors(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="ok", Body=b"x")
    long_key = "k" * 1025
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "ok"}, {"Key": long_key}], "Quiet": True})
    assert "Deleted" not in r
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [(long_key, "KeyTooLongError")]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_delete_objects_with_odd_keys(s3, bucket):  # type: ignore[no-untyped-def]
    keys = ["a b", "ü/日本", "x&y<z>", "/lead"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert sorted(d["Key"] for d in r["Deleted"]) == sorted(keys)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete><Object><Key>a</Key></Object>",  # not well-formed
        b"<Delete></Delete>",  # no objects
        b"<Remove><Object><Key>a</Key></Object></Remove>",  # wrong root
        b"<Delete><Object><VersionId>1</VersionId></Object></Delete>",  # no key
        b"",
    ],
)
def test_delete_objects_malformed_xml(server, s3, bucket, body):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    r = rawhttp.call(
        server, "POST", f"/{bucket}", query="delete=", body=body, headers={"Content-MD5": content_md5(body)}
    )
    assert (r.status, r.error_code) == (400, "MalformedXML")
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"x"


def test_delete_objects_over_1000_keys_is_malformed_xml(server, s3, bucket):  # type: ignore[no-untyped-def]
    body = ("<Delete>" + "".join(f"<Object><Key>k{i}</Key></Object>" for i in range(1001)) + "</Delete>").encode()
    r = rawhttp.call(
        server, "POST", f"/{bucket}", query="delete=", body=body, headers={"Content-MD5": content_md5(body)}
    )
    assert (r.status, r.error_code) == (400, "MalformedXML")


def test_delete_objects_without_content_md5_or_checksum_is_rejected(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    body = b"<Delete><Object><Key>a</Key></Object></Delete>"
    r = rawhttp.call(server, "POST", f"/{bucket}", query="delete=", body=body)
    assert (r.status, r.error_code) == (400, "InvalidRequest")
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"x"


def test_delete_objects_with_wrong_content_md5_is_bad_digest(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    body = b"<Delete><Object><Key>a</Key></Object></Delete>"
    r = rawhttp.call(
        server, "POST", f"/{bucket}", query="delete=", body=body, headers={"Content-MD5": content_md5(b"other")}
    )
    assert (r.status, r.error_code) == (400, "BadDigest")
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"x"
