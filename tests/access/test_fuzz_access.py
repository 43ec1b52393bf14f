"""Property-based fuzzing of the access-control and authentication parsers: bad input is a 4xx S3 error, never a crash.

Bounded for `make test`; S3D_FUZZ_EXAMPLES raises the number of examples for a longer run.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3d.access import acl
from s3d.access.policy import Effect, PolicyRequest, parse
from s3d.access.principals import Directory
from s3d.config import User
from s3d.s3 import auth, auth_v2
from s3d.s3.errors import S3Error

EXAMPLES = int(os.environ.get("S3D_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
USERS = [User("AKALICE", "alice-secret", "alice"), User("AKBOB", "bob-secret", "bob")]
DIRECTORY = Directory(USERS)
SECRETS = {u.access_key: u.secret_key for u in USERS}
BUCKET = "fuzz"
NOW = time.time()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
words = st.sampled_from(
    ["Allow", "Deny", "*", "s3:GetObject", "s3:*", "s3:List*", "arn:aws:s3:::fuzz", "arn:aws:s3:::fuzz/*",
     "arn:aws:iam::123456789012:user/alice", "AKBOB", "StringEquals", "StringLikeIfExists", "IpAddress",
     "NotIpAddress", "Bool", "NumericLessThan", "DateGreaterThan", "Null", "aws:SourceIp", "s3:prefix",
     "s3:max-keys", "aws:CurrentTime", "s3:ExistingObjectTag/k", "10.0.0.0/8", "true", "2020-01-01T00:00:00Z",
     "12", "", "\x00", "é"]
)  # fmt: skip
fields = st.sampled_from(
    ["Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition", "Sid", "AWS",
     "CanonicalUser"]
)  # fmt: skip
policy_like = st.recursive(
    words | st.integers(-3, 3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(fields | words, inner, max_size=4),
    max_leaves=25,
)


def _parse_or_4xx(text: str) -> Any:
    try:
        return parse(text, BUCKET, DIRECTORY.resolve)
    except S3Error as e:
        assert 400 <= e.status < 600 and e.status != 500, e
        return None


def _lookup(values: dict[str, list[str]]) -> Any:
    return lambda key: values.get(key)


request_values = st.dictionaries(
    st.sampled_from(["aws:sourceip", "s3:prefix", "s3:max-keys", "aws:currenttime", "aws:securetransport",
                     "s3:existingobjecttag/k", "s3:x-amz-acl"]),
    st.lists(st.text(max_size=10) | words, min_size=1, max_size=2),
)  # fmt: skip


@FUZZ
@given(st.text(max_size=300))
def test_policy_parser_on_arbitrary_text(text: str) -> None:
    _parse_or_4xx(text)


@FUZZ
@given(json_values)
def test_policy_parser_on_arbitrary_json(doc: Any) -> None:
    _parse_or_4xx(json.dumps(doc))


@FUZZ
@given(st.lists(policy_like, min_size=1, max_size=3), request_values, st.sampled_from([None, USERS[0], USERS[1]]))
def test_policy_like_documents_parse_or_refuse_and_evaluate(statements: list[Any], values: Any, who: Any) -> None:
    p = _parse_or_4xx(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    if p is not None:
        r = PolicyRequest("s3:GetObject", "arn:aws:s3:::fuzz/k", who, _lookup(values))
        assert p.evaluate(r) in (Effect.ALLOW, Effect.DENY, Effect.NOT_APPLICABLE)


def _headers_and_query(h: dict[str, str], q: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    return {k.lower(): v for k, v in h.items()}, q


header_values = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=120)
auth_header = st.one_of(
    header_values,
    st.builds(
        lambda c, s, sig: f"AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={sig}",
        st.sampled_from(["AKALICE/20240101/us-east-1/s3/aws4_request", "AKALICE/x/y", "", "AKBOB/20240101/eu/s3/aws4_request"])
        | header_values,
        st.sampled_from(["host;x-amz-date", "host", ""]) | header_values,
        header_values,
    ),
    st.builds(lambda k, s: f"AWS {k}:{s}", st.sampled_from(["AKALICE", "AKBOB", ""]) | header_values, header_values),
)  # fmt: skip
query_keys = st.sampled_from(
    ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
     "AWSAccessKeyId", "Signature", "Expires"]
)  # fmt: skip


@FUZZ
@given(
    auth_header,
    st.dictionaries(st.sampled_from(["x-amz-date", "date", "x-amz-content-sha256", "host"]), header_values),
    st.dictionaries(
        query_keys, header_values | st.sampled_from(["AWS4-HMAC-SHA256", "-1", "604801", "20240101T000000Z"])
    ),
)
def test_auth_parsers_answer_an_s3_error_or_a_verdict(
    authz: str, headers: dict[str, str], query: dict[str, str]
) -> None:
    h = dict(headers, authorization=authz) if authz else dict(headers)
    raw_query = "&".join(f"{k}={v}" for k, v in query.items())
    for verify in (
        lambda: auth.verify("GET", "/fuzz/k", raw_query, h, query, SECRETS, "us-east-1", now=NOW),
        lambda: auth_v2.verify("GET", "/fuzz/k", h, query, SECRETS, now=NOW) if auth_v2.applies(h, query) else None,
    ):
        try:
            verify()
        except S3Error as e:
            assert 400 <= e.status < 500, e


@FUZZ
@given(st.dictionaries(st.sampled_from([acl.CANNED_HEADER, *acl.GRANT_HEADERS]), header_values | words, max_size=3))
def test_acl_headers_parse_or_refuse(headers: dict[str, str]) -> None:
    try:
        acl.requested(headers, "alice", "alice", frozenset({"alice", "bob"}), objects=True)
    except S3Error as e:
        assert 400 <= e.status < 500, e


ACL_DOC = (
    "<AccessControlPolicy><Owner><ID>alice</ID></Owner><AccessControlList><Grant>"
    '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>bob</ID></Grantee>'
    "<Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"
)


@FUZZ
@given(st.integers(0, len(ACL_DOC)), st.integers(0, 40), st.binary(max_size=12))
def test_acl_document_parser_on_mutations(at: int, cut: int, insert: bytes) -> None:
    doc = ACL_DOC.encode()
    mutated = doc[:at] + insert + doc[at + cut :]
    try:
        acl.parse_document(mutated, "alice", frozenset({"alice", "bob"}))
    except S3Error as e:
        assert 400 <= e.status < 500, e
