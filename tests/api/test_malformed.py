"""Requests anyone can send that used to end in a 500: each is now a 4xx with AWS's error code.

And a real internal error (a table gone from under the daemon) is still answered, logged as a request
with its traceback, and counted as status 500 in /metrics.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.observe.scrape import scrape, value
from tests.support.admin import admin
from tests.support.rawhttp import RawResponse, call, send, sign
from tests.support.server import S3dProcess

LONG_NUMBER = "9" * 5000  # past Python's int() digit limit (4300)


def _put_with(server: S3dProcess, bucket: str, **headers: str) -> RawResponse:
    return call(server, "PUT", f"/{bucket}/k", headers=headers, body=b"hello")


def test_decoded_content_length_not_a_number(server: S3dProcess, bucket: str) -> None:
    r = _put_with(server, bucket, **{"x-amz-decoded-content-length": "abc"})
    assert (r.status, r.error_code) == (400, "InvalidArgument")


def test_decoded_content_length_too_many_digits(server: S3dProcess, bucket: str) -> None:
    r = _put_with(server, bucket, **{"x-amz-decoded-content-length": LONG_NUMBER})
    assert (r.status, r.error_code) == (400, "EntityTooLarge")


def _get_with_range(server: S3dProcess, bucket: str, rng: str) -> RawResponse:
    target, headers = sign(
        server.endpoint, "GET", f"/{bucket}/obj", access_key=server.access_key, secret_key=server.secret_key
    )
    headers["Range"] = rng  # not signed: http.client sends it as latin-1, exactly these bytes
    return send(server.endpoint, "GET", target, headers)


@pytest.fixture
def obj(server: S3dProcess, bucket: str) -> str:
    assert call(server, "PUT", f"/{bucket}/obj", body=b"0123456789").status == 200
    return bucket


def test_range_with_a_non_ascii_digit_is_ignored(server: S3dProcess, obj: str) -> None:
    r = _get_with_range(server, obj, "bytes=\xb2-")  # a superscript two: str.isdigit() says yes
    assert (r.status, r.body) == (200, b"0123456789")


def test_range_start_with_thousands_of_digits_is_unsatisfiable(server: S3dProcess, obj: str) -> None:
    r = _get_with_range(server, obj, f"bytes={LONG_NUMBER}-")
    assert (r.status, r.error_code) == (416, "InvalidRange")


def test_range_end_with_thousands_of_digits_reaches_the_end(server: S3dProcess, obj: str) -> None:
    r = _get_with_range(server, obj, f"bytes=2-{LONG_NUMBER}")
    assert (r.status, r.body) == (206, b"23456789")


def test_range_suffix_with_thousands_of_digits_is_the_whole_object(server: S3dProcess, obj: str) -> None:
    r = _get_with_range(server, obj, f"bytes=-{LONG_NUMBER}")
    assert (r.status, r.body) == (206, b"0123456789")


def _signed_form(server: S3dProcess, bucket: str, policy: object) -> dict[str, str]:
    """The fields of a PostObject form whose policy (any JSON) is validly signed with the server's key."""
    return _signed_form_text(server, bucket, json.dumps(policy).encode())


def _signed_form_text(server: S3dProcess, bucket: str, policy: bytes) -> dict[str, str]:
    """The fields of a PostObject form whose policy (any bytes) is validly signed with the server's key."""
    now = datetime.now(UTC)
    date = now.strftime("%Y%m%d")
    policy_b64 = base64.b64encode(policy).decode()
    key = ("AWS4" + server.secret_key).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return {
        "key": "k",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": f"{server.access_key}/{date}/us-east-1/s3/aws4_request",
        "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
        "policy": policy_b64,
        "x-amz-signature": hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest(),
    }


def _post_form(server: S3dProcess, bucket: str, fields: dict[str, str]) -> RawResponse:
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    )
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nhello\r\n'.encode()
    body += f"--{boundary}--\r\n".encode()
    headers = {"Host": f"127.0.0.1:{server.port}", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    return send(server.endpoint, "POST", f"/{bucket}", headers, body)


def _expiry() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_post_policy_content_length_range_not_numbers(server: S3dProcess, bucket: str) -> None:
    policy = {"expiration": _expiry(), "conditions": [{"bucket": bucket}, ["content-length-range", "a", "b"]]}
    r = _post_form(server, bucket, _signed_form(server, bucket, policy))
    assert (r.status, r.error_code) == (400, "InvalidPolicyDocument")


def test_post_policy_conditions_not_a_list(server: S3dProcess, bucket: str) -> None:
    r = _post_form(server, bucket, _signed_form(server, bucket, {"expiration": _expiry(), "conditions": 5}))
    assert (r.status, r.error_code) == (400, "InvalidPolicyDocument")


def test_post_policy_starts_with_a_number(server: S3dProcess, bucket: str) -> None:
    policy = {"expiration": _expiry(), "conditions": [["starts-with", "$key", 5], {"bucket": bucket}]}
    r = _post_form(server, bucket, _signed_form(server, bucket, policy))
    assert (r.status, r.error_code) == (403, "AccessDenied")


def test_post_policy_nested_too_deep(server: S3dProcess, bucket: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    r = _post_form(server, bucket, _signed_form_text(server, bucket, deep))
    assert (r.status, r.error_code) == (400, "InvalidPolicyDocument")


def test_xml_body_declaring_an_unknown_encoding(server: S3dProcess, bucket: str) -> None:
    body = b'<?xml version="1.0" encoding="EBCDIC-XX"?><Tagging><TagSet/></Tagging>'
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    r = call(server, "PUT", f"/{bucket}", query="tagging", headers={"Content-MD5": md5}, body=body)
    assert (r.status, r.error_code) == (400, "MalformedXML")


def test_sse_encryption_context_nested_too_deep(server: S3dProcess, bucket: str) -> None:
    deep = base64.b64encode(b"[" * 2000 + b"]" * 2000).decode()
    headers = {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-context": deep}
    r = _put_with(server, bucket, **headers)
    assert (r.status, r.error_code) == (400, "InvalidArgument")


def test_post_policy_signature_not_ascii(server: S3dProcess, bucket: str) -> None:
    fields = _signed_form(server, bucket, {"expiration": _expiry(), "conditions": [{"bucket": bucket}]})
    fields["x-amz-signature"] = "\u00e9" * 64
    r = _post_form(server, bucket, fields)
    assert (r.status, r.error_code) == (403, "SignatureDoesNotMatch")


def test_queue_discard_in_local_mode(server: S3dProcess) -> None:
    code, body = admin(
        server.endpoint, server.access_key, server.secret_key, "POST", "/_s3d/queue/discard?bucket=b&key=k"
    )
    assert code == 400 and b"InvalidRequest" in body


def _log_text(proc: S3dProcess) -> str:
    return (proc.data.parent / f"s3d-{proc.port}.log").read_text(errors="replace")


def test_unhandled_error_is_logged_and_counted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = S3dProcess(tmp_path / "data", workers=1, env_extra={"S3D_LOG_FORMAT": "json"}).start()
    try:
        assert call(proc, "PUT", "/bkt").status == 200
        with sqlite3.connect(proc.data / "meta.db") as db:
            db.execute("DROP TABLE uploads")  # a store broken under the daemon: a bug's stand-in
        r = call(proc, "GET", "/bkt", query="uploads")
        assert (r.status, r.error_code) == (500, "InternalError")
        rid = r.headers["x-amz-request-id"]
        deadline = time.monotonic() + 10
        lines: list[dict[str, object]] = []
        while time.monotonic() < deadline and not lines:
            lines = [
                d
                for d in (json.loads(ln) for ln in _log_text(proc).splitlines() if ln.startswith("{"))
                if d.get("request_id") == rid and d.get("logger") == "s3d.request"
            ]
            time.sleep(0.05)
        assert len(lines) == 1 and lines[0]["status"] == 500 and lines[0]["operation"] == "ListMultipartUploads"
        assert "no such table: uploads" in _log_text(proc)
        assert value(scrape(proc.endpoint), "s3d_requests_total", operation="ListMultipartUploads", status="500") == 1
    finally:
        proc.stop()


@pytest.mark.parametrize("value", ["text/plain%0D%0ASet-Cookie:%20x=1", "%EF%BF%BE", "a%00b"])
def test_response_override_that_is_no_header_value(server: S3dProcess, obj: str, value: str) -> None:
    """A response-* parameter comes back as a header: one that would split the response (or cannot be
    written) is refused, not sent, and not a cut connection."""
    for method in ("GET", "HEAD"):
        r = call(server, method, f"/{obj}/obj", query=f"response-content-type={value}")
        assert r.status == 400 and "set-cookie" not in r.headers, method
        if method == "GET":
            assert r.error_code == "InvalidArgument"


def test_post_form_metadata_that_is_no_header_value(server: S3dProcess, bucket: str) -> None:
    policy = {
        "expiration": _expiry(),
        "conditions": [{"bucket": bucket}, {"key": "k"}, ["starts-with", "$x-amz-meta-m", ""]],
    }
    fields = _signed_form(server, bucket, policy)
    fields["x-amz-meta-m"] = "v\r\nSet-Cookie: x=1"
    r = _post_form(server, bucket, fields)
    assert (r.status, r.error_code) == (400, "InvalidArgument")
    assert call(server, "GET", f"/{bucket}/k").status == 404


def test_post_policy_expiration_without_a_zone_is_utc(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = S3dProcess(tmp_path / "data", workers=1, env_extra={"TZ": "Asia/Tokyo"}).start()  # UTC+9: local time differs
    try:
        assert call(proc, "PUT", "/zone").status == 200
        naive = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        policy = {"expiration": naive, "conditions": [{"bucket": "zone"}, {"key": "k"}]}
        r = _post_form(proc, "zone", _signed_form(proc, "zone", policy))
        assert r.status == 204
    finally:
        proc.stop()
