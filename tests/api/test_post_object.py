"""Browser POST uploads with a SigV4-signed policy (boto3's generate_presigned_post)."""

from __future__ import annotations

import http.client
import uuid
from urllib.parse import urlparse

import pytest as _pytest

from tests.conftest import client_for


def _post(url: str, fields: dict[str, str], content: bytes, filename: str = "f.bin"):  # type: ignore[no-untyped-def]
    boundary = uuid.uuid4().hex
    out = bytearray()
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    out += content + f"\r\n--{boundary}--\r\n".encode()
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("POST", u.path, body=bytes(out), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def test_post_upload_stores_file(s3v4, bucket):  # type: ignore[no-untyped-def]
    p = s3v4.generate_presigned_post(bucket, "uploads/${filename}", Conditions=[["starts-with", "$key", "uploads/"]])
    data = bytes(range(256)) * 300
    status, _, body = _post(p["url"], p["fields"], data, filename="cat.jpg")
    assert status == 204, body
    assert s3v4.get_object(Bucket=bucket, Key="uploads/cat.jpg")["Body"].read() == data


def test_post_success_action_status_201_returns_xml(s3v4, bucket):  # type: ignore[no-untyped-def]
    p = s3v4.generate_presigned_post(
        bucket, "k", Fields={"success_action_status": "201"}, Conditions=[{"success_action_status": "201"}]
    )
    status, _, body = _post(p["url"], p["fields"], b"hello")
    assert status == 201
    assert b"<Key>k</Key>" in body and b"<Bucket>" + bucket.encode() + b"</Bucket>" in body


def test_post_redirect(s3v4, bucket):  # type: ignore[no-untyped-def]
    target = "https://example.com/done"
    p = s3v4.generate_presigned_post(
        bucket, "k", Fields={"success_action_redirect": target}, Conditions=[{"success_action_redirect": target}]
    )
    status, headers, _ = _post(p["url"], p["fields"], b"hello")
    assert status == 303
    assert headers["location"].startswith(target + "?bucket=")


def test_post_content_length_range_enforced(s3v4, bucket):  # type: ignore[no-untyped-def]
    p = s3v4.generate_presigned_post(bucket, "k", Conditions=[["content-length-range", 1, 10]])
    status, _, body = _post(p["url"], p["fields"], b"x" * 11)
    assert status == 400 and b"EntityTooLarge" in body
    status, _, _ = _post(p["url"], p["fields"], b"x" * 10)
    assert status == 204


def test_post_key_outside_policy_prefix_denied(s3v4, bucket):  # type: ignore[no-untyped-def]
    p = s3v4.generate_presigned_post(bucket, "uploads/a", Conditions=[["starts-with", "$key", "uploads/"]])
    fields = dict(p["fields"], key="elsewhere/a")
    status, _, body = _post(p["url"], fields, b"x")
    assert status == 403 and b"AccessDenied" in body


def test_post_tampered_policy_rejected(s3v4, bucket):  # type: ignore[no-untyped-def]
    p = s3v4.generate_presigned_post(bucket, "k")
    fields = dict(p["fields"], policy=p["fields"]["policy"][:-4] + "AAAA")
    status, _, body = _post(p["url"], fields, b"x")
    assert status == 403 and b"SignatureDoesNotMatch" in body


def test_post_extra_field_not_in_policy_denied(s3v4, bucket):  # type: ignore[no-untyped-def]
    p = s3v4.generate_presigned_post(bucket, "k")
    fields = dict(p["fields"], **{"x-amz-meta-extra": "1"})
    status, _, body = _post(p["url"], fields, b"x")
    assert status == 403 and b"Extra input fields" in body


def test_post_expired_policy_denied(s3v4, bucket):  # type: ignore[no-untyped-def]
    p = s3v4.generate_presigned_post(bucket, "k", ExpiresIn=-10)
    status, _, body = _post(p["url"], p["fields"], b"x")
    assert status == 403 and b"expired" in body


@_pytest.fixture
def s3v4(server):  # type: ignore[no-untyped-def]
    return client_for(server.endpoint, server.access_key, server.secret_key, signature_version="s3v4")
