"""Bucket CORS configuration and its enforcement on preflight and actual requests."""

from __future__ import annotations

import http.client

import pytest
import pytest as _pytest
from botocore.exceptions import ClientError

from tests.conftest import client_for

RULES = {
    "CORSRules": [
        {
            "AllowedOrigins": ["https://app.example.com"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["content-type", "x-amz-*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        },
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
    ]
}


def _options(server, path, origin, method, headers=""):  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    conn.request("OPTIONS", path, headers=h)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def test_put_get_delete_bucket_cors(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got[0]["AllowedOrigins"] == ["https://app.example.com"]
    assert got[0]["AllowedMethods"] == ["GET", "PUT"]
    assert got[0]["MaxAgeSeconds"] == 600
    assert got[1]["AllowedOrigins"] == ["*"]
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)


def test_invalid_cors_method_rejected(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_bucket_cors(
            Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}
        )
    assert e.value.response["Error"]["Code"] == "InvalidRequest"


def test_preflight_allowed(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    status, h, _ = _options(
        server, f"/{bucket}/photo.jpg", "https://app.example.com", "PUT", "Content-Type, X-Amz-Date"
    )
    assert status == 200
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert "PUT" in h["access-control-allow-methods"]
    assert h["access-control-allow-headers"] == "content-type, x-amz-date"
    assert h["access-control-max-age"] == "600"


def test_preflight_wildcard_origin(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    status, h, _ = _options(server, f"/{bucket}/x", "https://other.example.org", "GET")
    assert status == 200 and h["access-control-allow-origin"] == "*"


def test_preflight_refused_method_or_header(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    status, h, body = _options(server, f"/{bucket}/x", "https://other.example.org", "PUT")
    assert status == 403 and b"AccessForbidden" in body
    assert "access-control-allow-origin" not in h
    status, _, _ = _options(server, f"/{bucket}/x", "https://app.example.com", "PUT", "x-forbidden")
    assert status == 403


def test_preflight_without_cors_config_is_forbidden(server, bucket):  # type: ignore[no-untyped-def]
    status, _, body = _options(server, f"/{bucket}/x", "https://app.example.com", "GET")
    assert status == 403 and b"CORS is not enabled" in body


def test_actual_request_gets_cors_headers(server, s3, s3v4, bucket):  # type: ignore[no-untyped-def]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    path = url.split(str(server.port), 1)[1]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path, headers={"Origin": "https://app.example.com"})
    r = conn.getresponse()
    assert r.read() == b"data"
    assert r.getheader("Access-Control-Allow-Origin") == "https://app.example.com"
    assert r.getheader("Access-Control-Expose-Headers") == "ETag"
    conn.close()


@_pytest.fixture
def s3v4(server):  # type: ignore[no-untyped-def]
    return client_for(server.endpoint, server.access_key, server.secret_key, signature_version="s3v4")
