"""Conditional GET and HEAD: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since (RFC 7232 order)."""

from __future__ import annotations

import hashlib
from email.utils import formatdate, parsedate_to_datetime

import pytest

from tests.support import rawhttp

BODY = b"conditional body"
ETAG = f'"{hashlib.md5(BODY).hexdigest()}"'
OTHER = '"0123456789abcdef0123456789abcdef"'


@pytest.fixture
def obj(server, bucket):  # type: ignore[no-untyped-def]
    """(path, Last-Modified as a timestamp) of a stored object."""
    path = f"/{bucket}/cond"
    assert rawhttp.call(server, "PUT", path, body=BODY).status == 200
    lm = rawhttp.call(server, "HEAD", path).headers["last-modified"]
    return path, parsedate_to_datetime(lm).timestamp()


def http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


def get(server, path, method="GET", **headers):  # type: ignore[no-untyped-def]
    return rawhttp.call(server, method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})


# ---------- If-Match ----------
def test_if_match_with_current_etag_serves_object(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Match=ETAG)
    assert (r.status, r.body) == (200, BODY)


def test_if_match_star_serves_object(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Match="*")
    assert (r.status, r.body) == (200, BODY)


def test_if_match_in_a_list_serves_object(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Match=f"{OTHER}, {ETAG}")
    assert (r.status, r.body) == (200, BODY)


def test_if_match_with_other_etag_is_412(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Match=OTHER)
    assert (r.status, r.error_code) == (412, "PreconditionFailed")


def test_if_match_with_weak_etag_is_412(server, obj):  # type: ignore[no-untyped-def]
    # RFC 7232: If-Match uses the strong comparison, and a weak validator never matches strongly
    r = get(server, obj[0], If_Match=f"W/{ETAG}")
    assert (r.status, r.error_code) == (412, "PreconditionFailed")


def test_if_match_failing_on_head_is_412_without_body(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], "HEAD", If_Match=OTHER)
    assert (r.status, r.body) == (412, b"")


def test_if_match_on_missing_key_is_404(server, bucket):  # type: ignore[no-untyped-def]
    r = get(server, f"/{bucket}/missing", If_Match=ETAG)
    assert (r.status, r.error_code) == (404, "NoSuchKey")


# ---------- If-None-Match ----------
def test_if_none_match_with_current_etag_is_304(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_None_Match=ETAG)
    assert r.status == 304
    assert r.body == b""
    assert r.headers["etag"] == ETAG
    assert "x-amz-request-id" in r.headers


def test_if_none_match_star_is_304(server, obj):  # type: ignore[no-untyped-def]
    assert get(server, obj[0], If_None_Match="*").status == 304


def test_if_none_match_on_head_is_304(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], "HEAD", If_None_Match=ETAG)
    assert (r.status, r.body) == (304, b"")


def test_if_none_match_with_other_etag_serves_object(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_None_Match=OTHER)
    assert (r.status, r.body) == (200, BODY)


def test_if_none_match_weak_etag_compares_weakly(server, obj):  # type: ignore[no-untyped-def]
    # RFC 7232: If-None-Match uses the weak comparison
    assert get(server, obj[0], If_None_Match=f"W/{ETAG}").status == 304


# ---------- If-Modified-Since ----------
def test_if_modified_since_last_modified_is_304(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Modified_Since=http_date(obj[1]))
    assert (r.status, r.body) == (304, b"")


def test_if_modified_since_earlier_serves_object(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Modified_Since=http_date(obj[1] - 3600))
    assert (r.status, r.body) == (200, BODY)


def test_if_modified_since_in_the_future_is_ignored(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Modified_Since=http_date(obj[1] + 86400))
    assert (r.status, r.body) == (200, BODY)


def test_if_modified_since_unparseable_is_ignored(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Modified_Since="not a date")
    assert (r.status, r.body) == (200, BODY)


# ---------- If-Unmodified-Since ----------
def test_if_unmodified_since_earlier_is_412(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Unmodified_Since=http_date(obj[1] - 3600))
    assert (r.status, r.error_code) == (412, "PreconditionFailed")


def test_if_unmodified_since_last_modified_serves_object(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Unmodified_Since=http_date(obj[1]))
    assert (r.status, r.body) == (200, BODY)


# ---------- precedence (AWS GetObject docs, RFC 7232 section 6) ----------
def test_if_match_true_overrides_if_unmodified_since_false(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Match=ETAG, If_Unmodified_Since=http_date(obj[1] - 3600))
    assert (r.status, r.body) == (200, BODY)


def test_if_none_match_false_with_if_modified_since_true_is_304(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_None_Match=ETAG, If_Modified_Since=http_date(obj[1] - 3600))
    assert r.status == 304


def test_if_none_match_true_overrides_if_modified_since_false(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_None_Match=OTHER, If_Modified_Since=http_date(obj[1]))
    assert (r.status, r.body) == (200, BODY)


def test_if_match_failure_wins_over_if_none_match(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Match=OTHER, If_None_Match=ETAG)
    assert r.status == 412


def test_conditions_apply_before_range(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_None_Match=ETAG, Range="bytes=0-3")
    assert r.status == 304


def test_matching_conditions_with_range_serve_the_range(server, obj):  # type: ignore[no-untyped-def]
    r = get(server, obj[0], If_Match=ETAG, Range="bytes=0-3")
    assert (r.status, r.body) == (206, BODY[:4])


def test_boto3_if_none_match_raises_304(s3, bucket):  # type: ignore[no-untyped-def]
    from botocore.exceptions import ClientError

    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=put["ETag"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


# ---------- conditional writes (PutObject) ----------
def test_put_if_none_match_star_creates_a_missing_key(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/new", body=b"first", headers={"If-None-Match": "*"})
    assert r.status == 200
    assert rawhttp.call(server, "GET", f"/{bucket}/new").body == b"first"


def test_put_if_none_match_star_on_existing_key_is_412(server, obj):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", obj[0], body=b"second", headers={"If-None-Match": "*"})
    assert (r.status, r.error_code) == (412, "PreconditionFailed")
    assert rawhttp.call(server, "GET", obj[0]).body == BODY


def test_put_if_match_current_etag_replaces(server, obj):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", obj[0], body=b"replaced", headers={"If-Match": ETAG})
    assert r.status == 200
    assert rawhttp.call(server, "GET", obj[0]).body == b"replaced"


def test_put_if_match_other_etag_is_412(server, obj):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", obj[0], body=b"replaced", headers={"If-Match": OTHER})
    assert (r.status, r.error_code) == (412, "PreconditionFailed")
    assert rawhttp.call(server, "GET", obj[0]).body == BODY


def test_put_if_match_on_missing_key_is_no_such_key(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/missing", body=b"x", headers={"If-Match": ETAG})
    assert (r.status, r.error_code) == (404, "NoSuchKey")
    assert rawhttp.call(server, "GET", f"/{bucket}/missing").status == 404
