"""Authentication: SigV4 in the Authorization header and in presigned URLs, payload integrity, addressing.

Requests are signed by botocore's own signers (tests/support/rawhttp.py) and sent with http.client
or a raw socket, so each test controls exactly what goes on the wire.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import client_for
from tests.support import rawhttp

UNSIGNED = "UNSIGNED-PAYLOAD"
BIG = bytes(range(256)) * 400  # 102,400 bytes: streamed to a blob rather than stored inline


def stored(server, bucket, key):  # type: ignore[no-untyped-def]
    """The object's bytes, or None if GetObject says NoSuchKey."""
    r = rawhttp.call(server, "GET", f"/{bucket}/{key}")
    if r.status == 404:
        assert r.error_code == "NoSuchKey"
        return None
    assert r.status == 200
    return r.body


def listed(s3, bucket):  # type: ignore[no-untyped-def]
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def presign(server, method, path, **kw):  # type: ignore[no-untyped-def]
    return rawhttp.presign(
        server.endpoint, method, path, access_key=server.access_key, secret_key=server.secret_key, **kw
    )


# ---------- header signatures ----------
def test_header_signed_request_is_accepted(server, bucket):  # type: ignore[no-untyped-def]
    put = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"signed body")
    assert put.status == 200
    assert stored(server, bucket, "k") == b"signed body"


def test_date_header_instead_of_x_amz_date_is_accepted(server, bucket):  # type: ignore[no-untyped-def]
    # botocore signs with the Date header when the request carries one
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"dated", headers={"Date": "placeholder"})
    assert r.status == 200, r.body
    assert stored(server, bucket, "k") == b"dated"


def test_signature_covers_the_query_string(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a/1", Body=b"")
    s3.put_object(Bucket=bucket, Key="b/1", Body=b"")
    r = rawhttp.call(server, "GET", f"/{bucket}", query={"list-type": "2", "prefix": "b/", "max-keys": "5"})
    assert r.status == 200
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    assert [c.findtext(f"{ns}Key") for c in r.xml().findall(f"{ns}Contents")] == ["b/1"]


def test_unsigned_payload_is_accepted(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"not hashed", payload_hash=UNSIGNED)
    assert r.status == 200
    assert stored(server, bucket, "k") == b"not hashed"


def test_unknown_access_key_is_invalid_access_key_id(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{bucket}", access_key="AKNOBODYKNOWS")
    assert (r.status, r.error_code) == (403, "InvalidAccessKeyId")


def test_wrong_secret_is_signature_does_not_match(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"x", secret_key="not-the-secret")
    assert (r.status, r.error_code) == (403, "SignatureDoesNotMatch")
    assert stored(server, bucket, "k") is None


def test_header_changed_after_signing_is_signature_does_not_match(server, bucket):  # type: ignore[no-untyped-def]
    target, headers = rawhttp.sign(
        server.endpoint,
        "PUT",
        f"/{bucket}/k",
        access_key=server.access_key,
        secret_key=server.secret_key,
        body=b"x",
        headers={"x-amz-meta-color": "blue"},
    )
    headers["x-amz-meta-color"] = "red"
    r = rawhttp.send(server.endpoint, "PUT", target, headers, b"x")
    assert (r.status, r.error_code) == (403, "SignatureDoesNotMatch")
    assert stored(server, bucket, "k") is None


def test_path_changed_after_signing_is_signature_does_not_match(server, bucket):  # type: ignore[no-untyped-def]
    target, headers = rawhttp.sign(
        server.endpoint, "PUT", f"/{bucket}/a", access_key=server.access_key, secret_key=server.secret_key, body=b"x"
    )
    r = rawhttp.send(server.endpoint, "PUT", target.replace("/a", "/b"), headers, b"x")
    assert (r.status, r.error_code) == (403, "SignatureDoesNotMatch")
    assert stored(server, bucket, "b") is None


@pytest.mark.parametrize("minutes", [-20, 20])
def test_clock_skew_over_15_minutes_is_request_time_too_skewed(server, bucket, minutes):  # type: ignore[no-untyped-def]
    when = datetime.now(UTC) + timedelta(minutes=minutes)
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"x", when=when)
    assert (r.status, r.error_code) == (403, "RequestTimeTooSkewed")
    assert r.xml().findtext("MaxAllowedSkewMilliseconds") == "900000"
    assert stored(server, bucket, "k") is None


def test_clock_skew_under_15_minutes_is_accepted(server, bucket):  # type: ignore[no-untyped-def]
    when = datetime.now(UTC) - timedelta(minutes=10)
    assert rawhttp.call(server, "GET", f"/{bucket}", when=when).status == 200


def test_no_credentials_is_access_denied(server, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{server.endpoint}/{bucket}", timeout=10)
    assert e.value.code == 403
    body = e.value.read()
    assert b"<Code>AccessDenied</Code>" in body


def test_anonymous_put_is_access_denied_and_stores_nothing(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.send(server.endpoint, "PUT", f"/{bucket}/k", {"Host": f"127.0.0.1:{server.port}"}, b"anon")
    assert (r.status, r.error_code) == (403, "AccessDenied")
    assert stored(server, bucket, "k") is None


def test_missing_content_sha256_header_is_rejected(server, bucket):  # type: ignore[no-untyped-def]
    target, headers = rawhttp.sign(
        server.endpoint, "GET", f"/{bucket}", access_key=server.access_key, secret_key=server.secret_key
    )
    del headers["X-Amz-Content-SHA256"]
    r = rawhttp.send(server.endpoint, "GET", target, headers)
    assert r.status == 400
    assert r.error_code == "InvalidRequest"


def test_header_and_query_signature_together_is_invalid_argument(server, bucket):  # type: ignore[no-untyped-def]
    url = presign(server, "GET", f"/{bucket}")
    query = url.split("?", 1)[1]
    r = rawhttp.call(server, "GET", f"/{bucket}", query=query)
    assert (r.status, r.error_code) == (400, "InvalidArgument")


def test_put_over_5_gib_is_entity_too_large(server, s3, bucket):  # type: ignore[no-untyped-def]
    size = 5 * 1024**3 + 1
    target, headers = rawhttp.sign(
        server.endpoint,
        "PUT",
        f"/{bucket}/huge",
        access_key=server.access_key,
        secret_key=server.secret_key,
        payload_hash=UNSIGNED,
        headers={"Content-Length": str(size), "Expect": "100-continue"},
    )
    # the client waits for 100 Continue, so the server can refuse without reading a byte
    answer = rawhttp.send_raw(server.port, rawhttp.head_bytes("PUT", target, headers), shutdown_write=False)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"<Code>EntityTooLarge</Code>" in answer
    assert b"100 Continue" not in answer
    assert listed(s3, bucket) == []


# ---------- payload integrity ----------
@pytest.mark.parametrize("body", [b"small body", BIG], ids=["inline", "blob"])
def test_wrong_content_sha256_is_mismatch_and_stores_nothing(server, s3, bucket, body):  # type: ignore[no-untyped-def]
    wrong = hashlib.sha256(b"something else").hexdigest()
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=body, payload_hash=wrong)
    assert (r.status, r.error_code) == (400, "XAmzContentSHA256Mismatch")
    assert r.xml().findtext("ClientComputedContentSHA256") == wrong
    assert r.xml().findtext("S3ComputedContentSHA256") == hashlib.sha256(body).hexdigest()
    assert stored(server, bucket, "k") is None
    assert listed(s3, bucket) == []


def test_wrong_content_sha256_does_not_replace_existing_object(server, bucket):  # type: ignore[no-untyped-def]
    rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"original")
    wrong = hashlib.sha256(b"other").hexdigest()
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"replacement", payload_hash=wrong)
    assert r.error_code == "XAmzContentSHA256Mismatch"
    assert stored(server, bucket, "k") == b"original"


def test_malformed_content_sha256_is_invalid_argument(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"x", payload_hash="not-a-hash")
    assert (r.status, r.error_code) == (400, "InvalidArgument")
    assert stored(server, bucket, "k") is None


@pytest.mark.parametrize("body", [b"small body", BIG], ids=["inline", "blob"])
def test_wrong_content_md5_is_bad_digest_and_stores_nothing(server, s3, bucket, body):  # type: ignore[no-untyped-def]
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=body, headers={"Content-MD5": wrong})
    assert (r.status, r.error_code) == (400, "BadDigest")
    assert stored(server, bucket, "k") is None
    assert listed(s3, bucket) == []


def test_right_content_md5_is_accepted(server, bucket):  # type: ignore[no-untyped-def]
    md5 = base64.b64encode(hashlib.md5(b"checked").digest()).decode()
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"checked", headers={"Content-MD5": md5})
    assert r.status == 200
    assert stored(server, bucket, "k") == b"checked"


def test_malformed_content_md5_is_invalid_digest(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"x", headers={"Content-MD5": "not base64 md5"})
    assert (r.status, r.error_code) == (400, "InvalidDigest")
    assert stored(server, bucket, "k") is None


@pytest.mark.parametrize("declared, sent", [(1000, 10), (len(BIG), 50_000)], ids=["inline", "blob"])
def test_body_shorter_than_content_length_stores_nothing(server, s3, bucket, declared, sent):  # type: ignore[no-untyped-def]
    target, headers = rawhttp.sign(
        server.endpoint,
        "PUT",
        f"/{bucket}/short",
        access_key=server.access_key,
        secret_key=server.secret_key,
        payload_hash=UNSIGNED,
        headers={"Content-Length": str(declared)},
    )
    answer = rawhttp.send_raw(server.port, rawhttp.head_bytes("PUT", target, headers) + b"x" * sent)
    # the server either answers IncompleteBody or, the client having half-closed, just closes
    assert answer == b"" or (answer.startswith(b"HTTP/1.1 400") and b"IncompleteBody" in answer)
    assert stored(server, bucket, "short") is None
    assert listed(s3, bucket) == []


def test_body_longer_than_content_length_is_not_taken_as_object(server, bucket):  # type: ignore[no-untyped-def]
    # bytes past Content-Length are the next request on the connection, not part of this object
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"12345", headers={"Content-Length": "5"})
    assert r.status == 200
    assert stored(server, bucket, "k") == b"12345"


# ---------- presigned URLs ----------
@pytest.fixture(scope="module")
def s3v4(server):  # type: ignore[no-untyped-def]
    """A client that presigns with SigV4 (boto3's default for S3 presigning may still be SigV2)."""
    return client_for(server.endpoint, server.access_key, server.secret_key, signature_version="s3v4")


def test_presigned_get_url_works_with_urllib(server, s3, s3v4, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="dir/file name+ü.txt", Body=b"presigned content")
    url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "dir/file name+ü.txt"}, ExpiresIn=300
    )
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        assert r.read() == b"presigned content"


def test_presigned_put_url_stores_the_body(server, s3, s3v4, bucket):  # type: ignore[no-untyped-def]
    url = s3v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url
    r = rawhttp.get_url(url, "PUT", b"uploaded by url")
    assert r.status == 200
    assert r.headers["etag"] == f'"{hashlib.md5(b"uploaded by url").hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"uploaded by url"


CHUNKED_TEN = b"a\r\n" + b"x" * 10 + b"\r\n0\r\n\r\n"  # ten bytes "x" as an aws-chunked body, no trailer


def _chunked_headers(mode: str) -> dict[str, str]:
    return {"x-amz-content-sha256": mode, "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "10"}


def test_presigned_put_with_a_content_sha256_its_body_does_not_match_is_refused(server, bucket):  # type: ignore[no-untyped-def]
    other = hashlib.sha256(b"other").hexdigest()
    r = rawhttp.get_url(presign(server, "PUT", f"/{bucket}/k"), "PUT", b"body", {"x-amz-content-sha256": other})
    assert (r.status, r.error_code) == (400, "XAmzContentSHA256Mismatch")
    assert stored(server, bucket, "k") is None


def test_presigned_put_with_an_unsigned_streaming_body_stores_its_data(server, bucket):  # type: ignore[no-untyped-def]
    url = presign(server, "PUT", f"/{bucket}/k")
    r = rawhttp.get_url(url, "PUT", CHUNKED_TEN, _chunked_headers("STREAMING-UNSIGNED-PAYLOAD-TRAILER"))
    assert r.status == 200, r.body
    assert stored(server, bucket, "k") == b"x" * 10


def test_presigned_put_with_a_signed_streaming_body_is_not_implemented(server, bucket):  # type: ignore[no-untyped-def]
    url = presign(server, "PUT", f"/{bucket}/k")
    r = rawhttp.get_url(url, "PUT", CHUNKED_TEN, _chunked_headers("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"))
    assert (r.status, r.error_code) == (501, "NotImplemented")
    assert stored(server, bucket, "k") is None


def test_default_boto3_presigned_url_works(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"default presign")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    r = rawhttp.get_url(url)
    assert (r.status, r.body) == (200, b"default presign")


def test_presigned_url_made_by_hand_works(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"by hand")
    r = rawhttp.get_url(presign(server, "GET", f"/{bucket}/k"))
    assert (r.status, r.body) == (200, b"by hand")


def test_presigned_url_with_response_override(server, s3, s3v4, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k", "ResponseContentDisposition": "attachment"}
    )
    r = rawhttp.get_url(url)
    assert r.status == 200
    assert r.headers["content-disposition"] == "attachment"


def test_expired_presigned_url_is_access_denied(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presign(server, "GET", f"/{bucket}/k", expires=60, when=datetime.now(UTC) - timedelta(hours=2))
    r = rawhttp.get_url(url)
    assert (r.status, r.error_code) == (403, "AccessDenied")
    assert r.xml().findtext("Message") == "Request has expired"


def test_presigned_expires_over_a_week_is_rejected(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    r = rawhttp.get_url(presign(server, "GET", f"/{bucket}/k", expires=604801))
    assert (r.status, r.error_code) == (400, "AuthorizationQueryParametersError")


def test_presigned_expires_of_exactly_a_week_is_accepted(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"week")
    r = rawhttp.get_url(presign(server, "GET", f"/{bucket}/k", expires=604800))
    assert (r.status, r.body) == (200, b"week")


def test_presigned_url_for_another_key_is_signature_does_not_match(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="secret", Body=b"x")
    url = presign(server, "GET", f"/{bucket}/public")
    r = rawhttp.get_url(url.replace("/public?", "/secret?"))
    assert (r.status, r.error_code) == (403, "SignatureDoesNotMatch")


def test_presigned_url_used_with_another_method_is_rejected(server, bucket):  # type: ignore[no-untyped-def]
    url = presign(server, "GET", f"/{bucket}/k")
    r = rawhttp.get_url(url, "PUT", b"sneaky")
    assert (r.status, r.error_code) == (403, "SignatureDoesNotMatch")
    assert stored(server, bucket, "k") is None


def test_presigned_url_with_unknown_key_is_invalid_access_key_id(server, bucket):  # type: ignore[no-untyped-def]
    url = rawhttp.presign(server.endpoint, "GET", f"/{bucket}", access_key="AKNOBODY", secret_key="x")
    r = rawhttp.get_url(url)
    assert (r.status, r.error_code) == (403, "InvalidAccessKeyId")


# ---------- virtual-hosted-style addressing ----------
def test_virtual_hosted_put_and_get(server, s3, bucket):  # type: ignore[no-untyped-def]
    host = f"{bucket}.localhost:{server.port}"
    put = rawhttp.call(server, "PUT", "/dir/vhost.txt", body=b"virtual", host=host)
    assert put.status == 200
    assert s3.get_object(Bucket=bucket, Key="dir/vhost.txt")["Body"].read() == b"virtual"
    got = rawhttp.call(server, "GET", "/dir/vhost.txt", host=host)
    assert (got.status, got.body) == (200, b"virtual")


def test_virtual_hosted_list_objects(server, s3, bucket):  # type: ignore[no-untyped-def]
    for k in ["a", "b/c"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    r = rawhttp.call(server, "GET", "/", host=f"{bucket}.localhost:{server.port}", query={"list-type": "2"})
    assert r.status == 200
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    assert r.xml().findtext(f"{ns}Name") == bucket
    assert [c.findtext(f"{ns}Key") for c in r.xml().findall(f"{ns}Contents")] == ["a", "b/c"]


def test_virtual_hosted_key_that_looks_like_a_bucket_path(server, s3, bucket):  # type: ignore[no-untyped-def]
    host = f"{bucket}.localhost:{server.port}"
    rawhttp.call(server, "PUT", f"/{bucket}/nested", body=b"n", host=host)
    assert s3.get_object(Bucket=bucket, Key=f"{bucket}/nested")["Body"].read() == b"n"


def test_virtual_hosted_missing_bucket_is_no_such_bucket(server):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", "/k", host=f"no-such-bucket-here.localhost:{server.port}")
    assert (r.status, r.error_code) == (404, "NoSuchBucket")


def test_plain_localhost_host_is_path_style(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"path style")
    r = rawhttp.call(server, "GET", f"/{bucket}/k", host=f"localhost:{server.port}")
    assert (r.status, r.body) == (200, b"path style")
