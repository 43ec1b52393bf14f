"""Signature Version 2: boto3's default presigned URLs for S3 in us-east-1, and V2 header auth."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.conftest import client_for
from tests.support.rawhttp import get_url, presign


@pytest.fixture
def s3v2(server):  # type: ignore[no-untyped-def]
    return client_for(server.endpoint, server.access_key, server.secret_key, signature_version="s3")


def test_default_presigned_get_url_works(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a b+c", Body=b"payload")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a b+c"})
    assert "AWSAccessKeyId=" in url  # what boto3 does by default
    with urllib.request.urlopen(url) as r:
        assert r.read() == b"payload"


def test_presigned_v2_with_response_override(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k", "ResponseContentType": "text/csv"}
    )
    with urllib.request.urlopen(url) as r:
        assert r.headers["Content-Type"] == "text/csv"


def test_presigned_v2_expired(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=-5)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 403 and b"AccessDenied" in e.value.read()


def test_presigned_v2_tampered_key_rejected(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url.replace("/k?", "/other?"))
    assert e.value.code == 403 and b"SignatureDoesNotMatch" in e.value.read()


def test_v2_header_auth_round_trip(s3v2, bucket):  # type: ignore[no-untyped-def]
    s3v2.put_object(Bucket=bucket, Key="dir/k", Body=b"v2 body", Metadata={"m": "1"})
    got = s3v2.get_object(Bucket=bucket, Key="dir/k")
    assert got["Body"].read() == b"v2 body" and got["Metadata"] == {"m": "1"}
    assert [o["Key"] for o in s3v2.list_objects(Bucket=bucket)["Contents"]] == ["dir/k"]


def test_presigned_v2_with_an_expires_of_400_digits_is_access_denied(server, s3, bucket):  # type: ignore[no-untyped-def]
    r = get_url(f"{server.endpoint}/{bucket}/k?AWSAccessKeyId={server.access_key}&Signature=x&Expires={'9' * 400}")
    assert (r.status, r.error_code) == (403, "AccessDenied")


ONE_MECHANISM = b"Only one auth mechanism allowed"


@pytest.mark.parametrize(
    "extra_header",
    [{"Authorization": "AWS4-HMAC-SHA256 Credential=x"}, {"Authorization": "AWS AKID:c2ln"}],
)
def test_presigned_v2_with_an_authorization_header_is_invalid_argument(s3, bucket, extra_header):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    r = get_url(url, headers=extra_header)
    assert (r.status, r.error_code) == (400, "InvalidArgument") and ONE_MECHANISM in r.body


def test_presigned_v2_with_sigv4_query_parameters_is_invalid_argument(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    r = get_url(url + "&X-Amz-Algorithm=AWS4-HMAC-SHA256")
    assert (r.status, r.error_code) == (400, "InvalidArgument") and ONE_MECHANISM in r.body


def test_presigned_v4_with_a_v2_authorization_header_is_invalid_argument(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presign(server.endpoint, "GET", f"/{bucket}/k", access_key=server.access_key, secret_key=server.secret_key)
    r = get_url(url, headers={"Authorization": f"AWS {server.access_key}:c2ln"})
    assert (r.status, r.error_code) == (400, "InvalidArgument") and ONE_MECHANISM in r.body
