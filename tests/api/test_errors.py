"""Error responses: S3 XML documents, x-amz-request-id on every answer, 501 for what s3d does not implement."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest

from tests.support import rawhttp


def assert_error_document(r: rawhttp.RawResponse, status: int, code: str, resource: str) -> None:
    assert r.status == status
    assert r.headers["content-type"] == "application/xml"
    assert r.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    x = r.xml()
    assert x.tag == "Error"
    assert x.findtext("Code") == code
    assert x.findtext("Message")
    assert x.findtext("Resource") == resource
    assert x.findtext("RequestId") == r.headers["x-amz-request-id"]


def test_no_such_key_document(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{bucket}/dir/missing.txt")
    assert_error_document(r, 404, "NoSuchKey", f"/{bucket}/dir/missing.txt")
    assert r.xml().findtext("Key") == "dir/missing.txt"


def test_no_such_bucket_document(server):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", "/no-such-bucket-here")
    assert_error_document(r, 404, "NoSuchBucket", "/no-such-bucket-here")
    assert r.xml().findtext("BucketName") == "no-such-bucket-here"


def test_bucket_not_empty_document(server, bucket):  # type: ignore[no-untyped-def]
    rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"x")
    r = rawhttp.call(server, "DELETE", f"/{bucket}")
    assert_error_document(r, 409, "BucketNotEmpty", f"/{bucket}")
    assert r.xml().findtext("BucketName") == bucket


def test_bucket_already_owned_document(server, bucket):  # type: ignore[no-untyped-def]
    where = b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
    r = rawhttp.call(server, "PUT", f"/{bucket}", body=where)
    assert_error_document(r, 409, "BucketAlreadyOwnedByYou", f"/{bucket}")
    assert r.xml().findtext("BucketName") == bucket


def test_access_denied_document(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.send(server.endpoint, "GET", f"/{bucket}/k", {"Host": f"127.0.0.1:{server.port}"})
    assert_error_document(r, 403, "AccessDenied", f"/{bucket}/k")


def test_error_resource_names_a_decoded_key(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{bucket}/a%20b/%C3%BC")
    assert_error_document(r, 404, "NoSuchKey", f"/{bucket}/a b/ü")


def test_key_too_long_document(server, bucket):  # type: ignore[no-untyped-def]
    key = "k" * 1025
    r = rawhttp.call(server, "PUT", f"/{bucket}/{key}", body=b"x")
    assert_error_document(r, 400, "KeyTooLongError", f"/{bucket}/{key}")
    assert r.xml().findtext("MaxSizeAllowed") == "1024"


def test_key_too_long_without_credentials_is_access_denied(server, bucket):  # type: ignore[no-untyped-def]
    # authentication comes first: an anonymous caller learns nothing about the request
    r = rawhttp.send(server.endpoint, "GET", f"/{bucket}/{'k' * 1025}", {"Host": f"127.0.0.1:{server.port}"})
    assert (r.status, r.error_code) == (403, "AccessDenied")


def test_invalid_utf8_in_path_is_invalid_uri(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{bucket}/%FF%FE")
    assert (r.status, r.error_code) == (400, "InvalidURI")
    assert r.xml().findtext("RequestId") == r.headers["x-amz-request-id"]


def test_method_not_allowed_on_object(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "POST", f"/{bucket}/k", body=b"")
    assert_error_document(r, 405, "MethodNotAllowed", f"/{bucket}/k")
    assert r.xml().findtext("Method") == "POST"


def test_head_error_has_request_id_and_no_body(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "HEAD", f"/{bucket}/missing")
    assert (r.status, r.body) == (404, b"")
    assert r.headers["x-amz-request-id"]


# ---------- x-amz-request-id ----------
@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/", 200),  # ListBuckets
        ("HEAD", "/{bucket}", 200),
        ("GET", "/{bucket}", 200),
        ("PUT", "/{bucket}/k", 200),
        ("GET", "/{bucket}/k", 200),
        ("HEAD", "/{bucket}/k", 200),
        ("DELETE", "/{bucket}/k", 204),
    ],
)
def test_successful_answers_carry_a_request_id(server, bucket, method, path, status):  # type: ignore[no-untyped-def]
    rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"x")
    r = rawhttp.call(server, method, path.format(bucket=bucket), body=b"x" if method == "PUT" else b"")
    assert r.status == status
    assert len(r.headers["x-amz-request-id"]) >= 16


def test_not_modified_carries_a_request_id(server, bucket):  # type: ignore[no-untyped-def]
    rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"x")
    etag = f'"{hashlib.md5(b"x").hexdigest()}"'
    r = rawhttp.call(server, "GET", f"/{bucket}/k", headers={"If-None-Match": etag})
    assert r.status == 304
    assert r.headers["x-amz-request-id"]


def test_daemon_endpoints_carry_a_request_id(server):  # type: ignore[no-untyped-def]
    with urllib.request.urlopen(f"{server.endpoint}/_s3d/health", timeout=10) as r:
        assert r.status == 200
        assert r.headers["x-amz-request-id"]


def test_request_ids_are_unique(server, bucket):  # type: ignore[no-untyped-def]
    ids = {rawhttp.call(server, "GET", f"/{bucket}").headers["x-amz-request-id"] for _ in range(20)}
    assert len(ids) == 20


# ---------- not implemented ----------
@pytest.mark.parametrize(
    "method, query, operation",
    [
        ("GET", "policy", "GetBucketPolicy"),
        ("PUT", "policy", "PutBucketPolicy"),
        ("PUT", "versioning", "PutBucketVersioning"),
        ("GET", "replication", "GetBucketReplication"),
        ("PUT", "lifecycle", "PutBucketLifecycleConfiguration"),
        ("GET", "website", "GetBucketWebsite"),
        ("GET", "inventory", "ListBucketInventoryConfigurations"),
    ],
)
def test_unimplemented_bucket_operation_is_501(server, bucket, method, query, operation):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, method, f"/{bucket}", query=f"{query}=", body=b"<x/>" if method == "PUT" else b"")
    assert_error_document(r, 501, "NotImplemented", f"/{bucket}")
    assert operation in (r.xml().findtext("Message") or "")


def test_unimplemented_object_operation_is_501(server, bucket):  # type: ignore[no-untyped-def]
    rawhttp.call(server, "PUT", f"/{bucket}/k", body=b"x")
    r = rawhttp.call(server, "POST", f"/{bucket}/k", query="restore=", body=b"<RestoreRequest/>")
    assert_error_document(r, 501, "NotImplemented", f"/{bucket}/k")


def test_unimplemented_operation_through_boto3(s3, bucket):  # type: ignore[no-untyped-def]
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert e.value.response["ResponseMetadata"]["RequestId"]


def test_unimplemented_operation_needs_credentials_first(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.send(server.endpoint, "GET", f"/{bucket}?policy", {"Host": f"127.0.0.1:{server.port}"})
    assert (r.status, r.error_code) == (403, "AccessDenied")
