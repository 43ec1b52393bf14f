"""Authentication edges: credential scope, presigned lifetimes, non-ASCII signatures and header values."""

from __future__ import annotations

import http.client
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

from s3d.user_metadata import decode
from tests.support import rawhttp


def presign(server, method, path, **kw):  # type: ignore[no-untyped-def]
    return rawhttp.presign(
        server.endpoint, method, path, access_key=server.access_key, secret_key=server.secret_key, **kw
    )


def test_header_credential_for_another_region_is_authorization_header_malformed(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{bucket}", region="eu-west-1")
    assert (r.status, r.error_code) == (400, "AuthorizationHeaderMalformed")
    assert r.xml().findtext("Message") == (
        "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'"
    )
    assert r.xml().findtext("Region") == "us-east-1"


def test_presigned_credential_for_another_region_is_query_parameters_error(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    r = rawhttp.get_url(presign(server, "GET", f"/{bucket}/k", region="ap-south-1"))
    assert (r.status, r.error_code) == (400, "AuthorizationQueryParametersError")
    assert r.xml().findtext("Message") == (
        "Error parsing the X-Amz-Credential parameter; the region 'ap-south-1' is wrong; expecting 'us-east-1'"
    )


def test_header_credential_for_another_service_is_authorization_header_malformed(server, bucket):  # type: ignore[no-untyped-def]
    target, headers = rawhttp.sign(
        server.endpoint, "GET", f"/{bucket}", access_key=server.access_key, secret_key=server.secret_key
    )
    headers["Authorization"] = headers["Authorization"].replace("/s3/aws4_request", "/sqs/aws4_request")
    r = rawhttp.send(server.endpoint, "GET", target, headers)
    assert (r.status, r.error_code) == (400, "AuthorizationHeaderMalformed")
    assert 'incorrect service "sqs"' in (r.xml().findtext("Message") or "")


def test_presigned_credential_for_another_service_is_query_parameters_error(server, bucket):  # type: ignore[no-untyped-def]
    url = presign(server, "GET", f"/{bucket}/k")
    r = rawhttp.get_url(url.replace("%2Fs3%2Faws4_request", "%2Fiam%2Faws4_request"))
    assert (r.status, r.error_code) == (400, "AuthorizationQueryParametersError")


def test_negative_presigned_expires_is_access_denied_request_has_expired(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presign(server, "GET", f"/{bucket}/k")
    parts = urlsplit(url)
    q = dict(parse_qsl(parts.query))
    q["X-Amz-Expires"] = "-5"
    r = rawhttp.get_url(parts._replace(query=urlencode(q)).geturl())
    assert (r.status, r.error_code) == (403, "AccessDenied")
    assert r.xml().findtext("Message") == "Request has expired"


def test_non_ascii_signature_in_header_is_signature_does_not_match(server, bucket):  # type: ignore[no-untyped-def]
    target, headers = rawhttp.sign(
        server.endpoint, "GET", f"/{bucket}", access_key=server.access_key, secret_key=server.secret_key
    )
    head, _, _ = headers["Authorization"].rpartition("Signature=")
    headers["Authorization"] = head + "Signature=" + "\u00e9" * 64
    r = rawhttp.send(server.endpoint, "GET", target, headers)
    assert (r.status, r.error_code) == (403, "SignatureDoesNotMatch")


def test_non_ascii_presigned_signature_is_signature_does_not_match(server, bucket):  # type: ignore[no-untyped-def]
    url = presign(server, "GET", f"/{bucket}/k")
    head, _, _ = url.rpartition("X-Amz-Signature=")
    r = rawhttp.get_url(head + "X-Amz-Signature=" + "%C3%A9" * 64)
    assert (r.status, r.error_code) == (403, "SignatureDoesNotMatch")


def test_non_ascii_signature_v2_is_signature_does_not_match(server, bucket):  # type: ignore[no-untyped-def]
    headers = {
        "Host": f"127.0.0.1:{server.port}",
        "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
        "Authorization": f"AWS {server.access_key}:\u00e9\u00e9\u00e9=",
    }
    r = rawhttp.send(server.endpoint, "GET", f"/{bucket}", headers)
    assert (r.status, r.error_code) == (403, "SignatureDoesNotMatch")


def test_utf8_metadata_value_signed_as_utf8_is_accepted(server, bucket):  # type: ignore[no-untyped-def]
    """The signature covers the UTF-8 reading of the raw bytes; the value itself is read as ISO-8859-1, one
    character per byte, as AWS's documented example reads it (docs/compatibility.md, User metadata)."""
    value = "caf\u00e9 \u20ac"
    target, headers = rawhttp.sign(
        server.endpoint, "PUT", f"/{bucket}/k", access_key=server.access_key, secret_key=server.secret_key,
        headers={"x-amz-meta-note": value}, body=b"v",
    )  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("PUT", target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v.encode() if k.lower() == "x-amz-meta-note" else v)
        conn.endheaders(b"v")
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        resp.read()
        conn.putrequest("HEAD", target, skip_host=True, skip_accept_encoding=True)
        _, head = rawhttp.sign(
            server.endpoint, "HEAD", f"/{bucket}/k", access_key=server.access_key, secret_key=server.secret_key
        )
        for k, v in head.items():
            conn.putheader(k, v)
        conn.endheaders()
        got = conn.getresponse()
        got.read()
        assert got.status == 200
        raw = dict(got.getheaders())["x-amz-meta-note"]
        assert decode(raw) == value.encode().decode("latin-1")  # each raw byte a character, RFC 2047 encoded
    finally:
        conn.close()


def test_presigned_v2_over_a_week_is_refused(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=8 * 24 * 3600)
    assert "AWSAccessKeyId=" in url
    r = rawhttp.get_url(url)
    assert (r.status, r.error_code) == (403, "AccessDenied")


def test_presigned_v2_within_a_week_is_accepted(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"six days")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=6 * 24 * 3600)
    r = rawhttp.get_url(url)
    assert (r.status, r.body) == (200, b"six days")
