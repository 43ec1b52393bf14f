"""Bucket policies: each element and condition allows what it names and nothing else; Deny wins."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.access.conftest import BOB, allow, arn, code, deny, policy, user_arn


def put(alice: Any, bucket: str, *statements: dict[str, Any]) -> None:
    alice.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, *statements))


def public(alice: Any, bucket: str) -> None:
    alice.delete_public_access_block(Bucket=bucket)


def read(client: Any, bucket: str, key: str) -> str:
    return code(lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read())


# ---------- no policy ----------
def test_without_a_policy_other_users_and_anonymous_are_denied(alice, bob, anon, abucket):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="k", Body=b"x")
    assert read(alice, abucket, "k") == "ok"
    assert read(bob, abucket, "k") == "AccessDenied"
    assert read(anon, abucket, "k") == "AccessDenied"
    assert code(bob.put_object, Bucket=abucket, Key="b", Body=b"y") == "AccessDenied"
    assert code(bob.list_objects_v2, Bucket=abucket) == "AccessDenied"


# ---------- Principal ----------
def test_principal_star_allows_anonymous_reads_only(alice, anon, abucket):  # type: ignore[no-untyped-def]
    public(alice, abucket)
    put(alice, abucket, allow("*", "s3:GetObject", arn(abucket, "*")))
    alice.put_object(Bucket=abucket, Key="k", Body=b"public")
    assert anon.get_object(Bucket=abucket, Key="k")["Body"].read() == b"public"
    assert code(anon.put_object, Bucket=abucket, Key="w", Body=b"x") == "AccessDenied"
    assert code(anon.list_objects_v2, Bucket=abucket) == "AccessDenied"


def test_public_policy_is_refused_while_block_public_policy_is_on(alice, abucket):  # type: ignore[no-untyped-def]
    assert (
        code(
            alice.put_bucket_policy,
            Bucket=abucket,
            Policy=policy(abucket, allow("*", "s3:GetObject", arn(abucket, "*"))),
        )
        == "AccessDenied"
    )
    with pytest.raises(Exception, match="NoSuchBucketPolicy"):
        alice.get_bucket_policy(Bucket=abucket)


@pytest.mark.parametrize("ref", [user_arn("bob"), BOB[0], {"CanonicalUser": "bob"}])
def test_principal_names_a_user_by_arn_access_key_or_canonical_id(alice, bob, anon, abucket, ref):  # type: ignore[no-untyped-def]
    principal = ref if isinstance(ref, dict) else {"AWS": ref}
    put(alice, abucket, allow(principal, "s3:GetObject", arn(abucket, "*")))
    alice.put_object(Bucket=abucket, Key="k", Body=b"for bob")
    assert bob.get_object(Bucket=abucket, Key="k")["Body"].read() == b"for bob"
    assert read(anon, abucket, "k") == "AccessDenied"


def test_account_root_principal_names_every_user(alice, bob, anon, abucket):  # type: ignore[no-untyped-def]
    put(alice, abucket, allow({"AWS": "arn:aws:iam::123456789012:root"}, "s3:GetObject", arn(abucket, "*")))
    alice.put_object(Bucket=abucket, Key="k", Body=b"x")
    assert read(bob, abucket, "k") == "ok"
    assert read(anon, abucket, "k") == "AccessDenied"


def test_not_principal_deny_spares_only_the_named_user(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(
        alice, abucket,
        allow({"AWS": user_arn("bob")}, "s3:GetObject", arn(abucket, "*")),
        {"Effect": "Deny", "NotPrincipal": {"AWS": user_arn("alice")}, "Action": "s3:GetObject", "Resource": arn(abucket, "*")},
    )  # fmt: skip
    alice.put_object(Bucket=abucket, Key="k", Body=b"x")
    assert read(alice, abucket, "k") == "ok"
    assert read(bob, abucket, "k") == "AccessDenied"


def test_explicit_deny_applies_to_the_owner_too(alice, abucket):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="k", Body=b"x")
    put(alice, abucket, deny("*", "s3:DeleteObject", arn(abucket, "*")))
    assert code(alice.delete_object, Bucket=abucket, Key="k") == "AccessDenied"
    assert read(alice, abucket, "k") == "ok"
    alice.delete_bucket_policy(Bucket=abucket)
    alice.delete_object(Bucket=abucket, Key="k")


def test_deny_beats_allow_for_the_same_user(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(
        alice, abucket,
        allow({"AWS": user_arn("bob")}, "s3:*", [arn(abucket), arn(abucket, "*")]),
        deny({"AWS": user_arn("bob")}, "s3:PutObject", arn(abucket, "*")),
    )  # fmt: skip
    assert code(bob.list_objects_v2, Bucket=abucket) == "ok"
    assert code(bob.put_object, Bucket=abucket, Key="k", Body=b"x") == "AccessDenied"


# ---------- Action / NotAction ----------
def test_action_wildcard_matches_by_prefix(alice, bob, abucket):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="k", Body=b"x", Tagging="a=1")
    put(alice, abucket, allow({"AWS": user_arn("bob")}, "s3:GetObject*", arn(abucket, "*")))
    assert read(bob, abucket, "k") == "ok"
    assert bob.get_object_tagging(Bucket=abucket, Key="k")["TagSet"] == [{"Key": "a", "Value": "1"}]
    assert code(bob.put_object, Bucket=abucket, Key="k2", Body=b"x") == "AccessDenied"


def test_not_action_allows_everything_but_the_named_actions(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(
        alice,
        abucket,
        {
            "Effect": "Allow",
            "Principal": {"AWS": user_arn("bob")},
            "NotAction": "s3:DeleteObject",
            "Resource": arn(abucket, "*"),
        },
    )
    assert code(bob.put_object, Bucket=abucket, Key="k", Body=b"x") == "ok"
    assert code(bob.delete_object, Bucket=abucket, Key="k") == "AccessDenied"


# ---------- Resource / NotResource ----------
def test_resource_wildcard_limits_a_grant_to_a_prefix(alice, bob, abucket):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="public/a", Body=b"a")
    alice.put_object(Bucket=abucket, Key="private/b", Body=b"b")
    put(alice, abucket, allow({"AWS": user_arn("bob")}, "s3:GetObject", arn(abucket, "public/*")))
    assert read(bob, abucket, "public/a") == "ok"
    assert read(bob, abucket, "private/b") == "AccessDenied"


def test_not_resource_grants_all_but_the_named_keys(alice, bob, abucket):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="open", Body=b"a")
    alice.put_object(Bucket=abucket, Key="secret/x", Body=b"b")
    put(
        alice,
        abucket,
        {
            "Effect": "Allow",
            "Principal": {"AWS": user_arn("bob")},
            "Action": "s3:GetObject",
            "NotResource": arn(abucket, "secret/*"),
        },
    )
    assert read(bob, abucket, "open") == "ok"
    assert read(bob, abucket, "secret/x") == "AccessDenied"


MANY_STARS = "*/" * 8 + "*.secret"  # a backtracking matcher takes (text length) ** 9 steps to refuse a text of slashes
BACKTRACKING_SECONDS = 60  # generous: a linear matcher answers in milliseconds, a backtracking one in hours


@pytest.mark.timeout(BACKTRACKING_SECONDS)
def test_resource_with_many_stars_against_a_key_of_slashes_answers_at_once(alice, bob, abucket):  # type: ignore[no-untyped-def]
    key = "k" + "/" * 1000
    alice.put_object(Bucket=abucket, Key=key, Body=b"x")
    put(
        alice, abucket,
        allow({"AWS": user_arn("bob")}, "s3:GetObject", arn(abucket, "*")),
        deny({"AWS": user_arn("bob")}, "s3:GetObject", arn(abucket, MANY_STARS)),
    )  # fmt: skip
    assert read(bob, abucket, key) == "ok"


def test_bucket_level_action_needs_the_bucket_arn(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(alice, abucket, allow({"AWS": user_arn("bob")}, "s3:ListBucket", arn(abucket, "*")))
    assert code(bob.list_objects_v2, Bucket=abucket) == "AccessDenied"
    put(alice, abucket, allow({"AWS": user_arn("bob")}, "s3:ListBucket", arn(abucket)))
    assert code(bob.list_objects_v2, Bucket=abucket) == "ok"


# ---------- Conditions ----------
def _bob(action: str, resource: str, condition: dict[str, Any], effect: str = "Allow") -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": {"AWS": user_arn("bob")},
        "Action": action,
        "Resource": resource,
        "Condition": condition,
    }


@pytest.mark.parametrize(
    "op, value, allowed, denied",
    [
        ("StringEquals", "home/bob/", "home/bob/", "home/"),
        ("StringLike", "home/b*", "home/bob/", "other/"),
        ("StringNotEquals", "secret/", "home/", "secret/"),
        ("StringNotLike", "secret*", "home/", "secret/x"),
    ],
)
def test_string_conditions_on_s3_prefix(alice, bob, abucket, op, value, allowed, denied):  # type: ignore[no-untyped-def]
    put(alice, abucket, _bob("s3:ListBucket", arn(abucket), {op: {"s3:prefix": value}}))
    assert code(bob.list_objects_v2, Bucket=abucket, Prefix=allowed) == "ok"
    assert code(bob.list_objects_v2, Bucket=abucket, Prefix=denied) == "AccessDenied"


@pytest.mark.timeout(BACKTRACKING_SECONDS)
def test_string_like_with_many_stars_against_a_long_prefix_answers_at_once(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(
        alice, abucket,
        allow({"AWS": user_arn("bob")}, "s3:ListBucket", arn(abucket)),
        _bob("s3:ListBucket", arn(abucket), {"StringLike": {"s3:prefix": "home/" + MANY_STARS}}, effect="Deny"),
    )  # fmt: skip
    assert code(bob.list_objects_v2, Bucket=abucket, Prefix="home" + "/" * 1000) == "ok"


def test_s3_delimiter_condition(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(alice, abucket, _bob("s3:ListBucket", arn(abucket), {"StringEquals": {"s3:delimiter": "/"}}))
    assert code(bob.list_objects_v2, Bucket=abucket, Delimiter="/") == "ok"
    assert code(bob.list_objects_v2, Bucket=abucket) == "AccessDenied"


def test_numeric_condition_on_max_keys(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(alice, abucket, _bob("s3:ListBucket", arn(abucket), {"NumericLessThanEquals": {"s3:max-keys": "10"}}))
    assert code(bob.list_objects_v2, Bucket=abucket, MaxKeys=5) == "ok"
    assert code(bob.list_objects_v2, Bucket=abucket, MaxKeys=50) == "AccessDenied"


def test_ip_address_condition_allows_loopback(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(alice, abucket, _bob("s3:ListBucket", arn(abucket), {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    assert code(bob.list_objects_v2, Bucket=abucket) == "ok"
    put(alice, abucket, _bob("s3:ListBucket", arn(abucket), {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    assert code(bob.list_objects_v2, Bucket=abucket) == "AccessDenied"


def test_not_ip_address_deny_refuses_the_owner_from_outside(alice, abucket):  # type: ignore[no-untyped-def]
    put(
        alice,
        abucket,
        deny("*", "s3:ListBucket", arn(abucket), Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
    )
    assert code(alice.list_objects_v2, Bucket=abucket) == "AccessDenied"
    put(
        alice,
        abucket,
        deny("*", "s3:ListBucket", arn(abucket), Condition={"NotIpAddress": {"aws:SourceIp": "127.0.0.1/32"}}),
    )
    assert code(alice.list_objects_v2, Bucket=abucket) == "ok"


def test_secure_transport_deny_refuses_plain_http(alice, abucket):  # type: ignore[no-untyped-def]
    put(
        alice,
        abucket,
        deny(
            "*",
            ["s3:ListBucket", "s3:GetObject"],
            [arn(abucket), arn(abucket, "*")],
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )
    assert code(alice.list_objects_v2, Bucket=abucket) == "AccessDenied"
    put(
        alice,
        abucket,
        deny(
            "*",
            ["s3:ListBucket", "s3:GetObject"],
            [arn(abucket), arn(abucket, "*")],
            Condition={"Bool": {"aws:SecureTransport": "true"}},
        ),
    )
    assert code(alice.list_objects_v2, Bucket=abucket) == "ok"


def test_date_conditions_on_current_time(alice, bob, abucket):  # type: ignore[no-untyped-def]
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    put(alice, abucket, _bob("s3:ListBucket", arn(abucket), {"DateLessThan": {"aws:CurrentTime": future}}))
    assert code(bob.list_objects_v2, Bucket=abucket) == "ok"
    put(alice, abucket, _bob("s3:ListBucket", arn(abucket), {"DateGreaterThan": {"aws:CurrentTime": future}}))
    assert code(bob.list_objects_v2, Bucket=abucket) == "AccessDenied"


def test_existing_object_tag_condition(alice, bob, abucket):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="tagged", Body=b"a", Tagging="class=public")
    alice.put_object(Bucket=abucket, Key="plain", Body=b"b")
    put(
        alice,
        abucket,
        _bob("s3:GetObject", arn(abucket, "*"), {"StringEquals": {"s3:ExistingObjectTag/class": "public"}}),
    )
    assert read(bob, abucket, "tagged") == "ok"
    assert read(bob, abucket, "plain") == "AccessDenied"


def test_request_object_tag_condition(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(alice, abucket, _bob("s3:PutObject", arn(abucket, "*"), {"StringEquals": {"s3:RequestObjectTag/team": "bob"}}))
    assert code(bob.put_object, Bucket=abucket, Key="a", Body=b"x", Tagging="team=bob") == "ok"
    assert code(bob.put_object, Bucket=abucket, Key="b", Body=b"x", Tagging="team=eve") == "AccessDenied"
    assert code(bob.put_object, Bucket=abucket, Key="c", Body=b"x") == "AccessDenied"


def test_x_amz_acl_condition(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(
        alice,
        abucket,
        _bob("s3:PutObject", arn(abucket, "*"), {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}),
    )
    assert code(bob.put_object, Bucket=abucket, Key="a", Body=b"x", ACL="bucket-owner-full-control") == "ok"
    assert code(bob.put_object, Bucket=abucket, Key="b", Body=b"x") == "AccessDenied"


def test_sse_condition_with_negated_operator_denies_a_request_without_the_header(alice, abucket):  # type: ignore[no-untyped-def]
    put(
        alice,
        abucket,
        deny(
            "*",
            "s3:PutObject",
            arn(abucket, "*"),
            Condition={"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
        ),
    )
    assert code(alice.put_object, Bucket=abucket, Key="a", Body=b"x") == "AccessDenied"


def test_if_exists_condition_applies_only_when_the_key_is_there(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(
        alice,
        abucket,
        _bob(
            "s3:PutObject", arn(abucket, "*"), {"StringEqualsIfExists": {"s3:x-amz-acl": "bucket-owner-full-control"}}
        ),
    )
    assert code(bob.put_object, Bucket=abucket, Key="a", Body=b"x") == "ok"
    assert code(bob.put_object, Bucket=abucket, Key="b", Body=b"x", ACL="private") == "AccessDenied"


def test_null_condition(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(alice, abucket, _bob("s3:PutObject", arn(abucket, "*"), {"Null": {"s3:x-amz-acl": "true"}}))
    assert code(bob.put_object, Bucket=abucket, Key="a", Body=b"x") == "ok"
    assert code(bob.put_object, Bucket=abucket, Key="b", Body=b"x", ACL="bucket-owner-full-control") == "AccessDenied"


# ---------- the policy operations ----------
def test_put_get_delete_policy_round_trip(alice, abucket):  # type: ignore[no-untyped-def]
    text = policy(abucket, allow({"AWS": user_arn("bob")}, "s3:GetObject", arn(abucket, "*")))
    alice.put_bucket_policy(Bucket=abucket, Policy=text)
    assert json.loads(alice.get_bucket_policy(Bucket=abucket)["Policy"]) == json.loads(text)
    assert alice.get_bucket_policy_status(Bucket=abucket)["PolicyStatus"]["IsPublic"] is False
    alice.delete_bucket_policy(Bucket=abucket)
    assert code(alice.get_bucket_policy, Bucket=abucket) == "NoSuchBucketPolicy"
    assert code(alice.get_bucket_policy_status, Bucket=abucket) == "NoSuchBucketPolicy"


def test_policy_status_is_public_for_a_wildcard_principal(alice, abucket):  # type: ignore[no-untyped-def]
    public(alice, abucket)
    put(alice, abucket, allow("*", "s3:GetObject", arn(abucket, "*")))
    assert alice.get_bucket_policy_status(Bucket=abucket)["PolicyStatus"]["IsPublic"] is True
    put(
        alice,
        abucket,
        allow("*", "s3:GetObject", arn(abucket, "*"), Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}),
    )
    assert alice.get_bucket_policy_status(Bucket=abucket)["PolicyStatus"]["IsPublic"] is False


def test_other_user_cannot_read_or_change_the_policy(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(alice, abucket, allow({"AWS": user_arn("bob")}, "s3:GetObject", arn(abucket, "*")))
    assert code(bob.get_bucket_policy, Bucket=abucket) == "AccessDenied"
    assert code(bob.delete_bucket_policy, Bucket=abucket) == "AccessDenied"
    assert (
        code(
            bob.put_bucket_policy,
            Bucket=abucket,
            Policy=policy(abucket, allow({"AWS": user_arn("bob")}, "s3:*", arn(abucket, "*"))),
        )
        == "AccessDenied"
    )


@pytest.mark.parametrize(
    "doc",
    [
        "not json",
        "[]",
        '{"Version": "2012-10-17"}',
        '{"Version": "2099-01-01", "Statement": []}',
        '{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*"}]}',
        '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*"}]}',
        '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/nobody"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*"}]}',
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ec2:RunInstances", "Resource": "arn:aws:s3:::B/*"}]}',
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other-bucket/*"}]}',
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}',
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*", "Condition": {"StringSounds": {"s3:prefix": "a"}}}]}',
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*", "Condition": {"StringEquals": {"s3:no-such-key": "a"}}}]}',
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*", "Condition": {"IpAddress": {"aws:SourceIp": "not-an-ip"}}}]}',
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*", "Surprise": 1}]}',
    ],
)
def test_malformed_policy_is_refused(alice, abucket, doc):  # type: ignore[no-untyped-def]
    assert (
        code(alice.put_bucket_policy, Bucket=abucket, Policy=doc.replace("arn:aws:s3:::B", arn(abucket)))
        == "MalformedPolicy"
    )
    assert code(alice.get_bucket_policy, Bucket=abucket) == "NoSuchBucketPolicy"


def test_policy_variables_are_refused_not_matched_literally(alice, abucket):  # type: ignore[no-untyped-def]
    doc = policy(abucket, allow({"AWS": user_arn("bob")}, "s3:GetObject", arn(abucket, "home/${aws:username}/*")))
    assert code(alice.put_bucket_policy, Bucket=abucket, Policy=doc) == "NotImplemented"


def test_set_operators_are_refused_not_ignored(alice, abucket):  # type: ignore[no-untyped-def]
    cond = {"ForAnyValue:StringEquals": {"s3:prefix": ["a", "b"]}}
    assert (
        code(alice.put_bucket_policy, Bucket=abucket, Policy=policy(abucket, _bob("s3:ListBucket", arn(abucket), cond)))
        == "NotImplemented"
    )


# ---------- anonymous reads of missing keys and buckets ----------
def test_anonymous_get_of_a_missing_key_is_403_without_list_permission(alice, anon, abucket):  # type: ignore[no-untyped-def]
    public(alice, abucket)
    put(alice, abucket, allow("*", "s3:GetObject", arn(abucket, "*")))
    assert read(anon, abucket, "missing") == "AccessDenied"


def test_anonymous_get_of_a_missing_key_is_404_with_list_permission(alice, anon, abucket):  # type: ignore[no-untyped-def]
    public(alice, abucket)
    put(alice, abucket, allow("*", ["s3:GetObject", "s3:ListBucket"], [arn(abucket), arn(abucket, "*")]))
    assert read(anon, abucket, "missing") == "NoSuchKey"
    assert code(anon.head_object, Bucket=abucket, Key="missing") == "404"


def test_anonymous_get_in_a_missing_bucket_is_no_such_bucket(anon):  # type: ignore[no-untyped-def]
    assert read(anon, "no-such-bucket-here", "k") == "NoSuchBucket"


def test_restrict_public_buckets_stops_anonymous_use_of_a_public_policy(alice, bob, anon, abucket):  # type: ignore[no-untyped-def]
    public(alice, abucket)
    put(alice, abucket, allow("*", "s3:GetObject", arn(abucket, "*")))
    alice.put_object(Bucket=abucket, Key="k", Body=b"x")
    assert read(anon, abucket, "k") == "ok"
    alice.put_public_access_block(Bucket=abucket, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert read(anon, abucket, "k") == "AccessDenied"
    assert read(bob, abucket, "k") == "ok"


def test_anonymous_post_allowed_by_policy_stores_the_file(daemon, alice, abucket):  # type: ignore[no-untyped-def]
    from tests.api.test_post_object import _post

    status, _, body = _post(f"{daemon.endpoint}/{abucket}", {"key": "drop/a.txt"}, b"anonymous upload")
    assert status == 403, body
    public(alice, abucket)
    put(alice, abucket, allow("*", "s3:PutObject", arn(abucket, "drop/*")))
    status, _, body = _post(f"{daemon.endpoint}/{abucket}", {"key": "drop/a.txt"}, b"anonymous upload")
    assert status == 204, body
    assert alice.get_object(Bucket=abucket, Key="drop/a.txt")["Body"].read() == b"anonymous upload"
    status, _, _ = _post(f"{daemon.endpoint}/{abucket}", {"key": "elsewhere.txt"}, b"x")
    assert status == 403


def test_cross_user_copy_needs_read_on_the_source(alice, bob, abucket):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="src", Body=b"copied")
    mine = f"{abucket}-bob"
    bob.create_bucket(Bucket=mine)
    try:
        assert (
            code(bob.copy_object, Bucket=mine, Key="dst", CopySource={"Bucket": abucket, "Key": "src"})
            == "AccessDenied"
        )
        put(alice, abucket, allow({"AWS": user_arn("bob")}, "s3:GetObject", arn(abucket, "src")))
        bob.copy_object(Bucket=mine, Key="dst", CopySource={"Bucket": abucket, "Key": "src"})
        assert bob.get_object(Bucket=mine, Key="dst")["Body"].read() == b"copied"
    finally:
        for o in bob.list_objects_v2(Bucket=mine).get("Contents", []):
            bob.delete_object(Bucket=mine, Key=o["Key"])
        bob.delete_bucket(Bucket=mine)


def test_delete_objects_is_authorized_key_by_key(alice, bob, abucket):  # type: ignore[no-untyped-def]
    for k in ("tmp/a", "keep/b"):
        alice.put_object(Bucket=abucket, Key=k, Body=b"x")
    put(alice, abucket, allow({"AWS": user_arn("bob")}, "s3:DeleteObject", arn(abucket, "tmp/*")))
    r = bob.delete_objects(Bucket=abucket, Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/b"}]})
    assert [d["Key"] for d in r.get("Deleted", [])] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in r.get("Errors", [])] == [("keep/b", "AccessDenied")]
    assert [o["Key"] for o in alice.list_objects_v2(Bucket=abucket)["Contents"]] == ["keep/b"]


def test_delete_objects_by_anonymous_without_a_policy_deletes_nothing(alice, anon, abucket):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="k", Body=b"x")
    assert code(anon.delete_objects, Bucket=abucket, Delete={"Objects": [{"Key": "k"}]}) == "AccessDenied"
    assert alice.head_object(Bucket=abucket, Key="k")["ContentLength"] == 1


def test_multipart_upload_by_a_user_the_policy_allows(alice, bob, abucket):  # type: ignore[no-untyped-def]
    put(
        alice,
        abucket,
        allow({"AWS": user_arn("bob")}, ["s3:PutObject", "s3:AbortMultipartUpload"], arn(abucket, "up/*")),
    )
    up = bob.create_multipart_upload(Bucket=abucket, Key="up/big")["UploadId"]
    parts = [bob.upload_part(Bucket=abucket, Key="up/big", UploadId=up, PartNumber=n, Body=bytes([n]) * (5 << 20))["ETag"] for n in (1, 2)]  # fmt: skip
    bob.complete_multipart_upload(
        Bucket=abucket, Key="up/big", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), parts, strict=True)]},
    )  # fmt: skip
    assert alice.head_object(Bucket=abucket, Key="up/big")["ContentLength"] == 10 << 20
    assert code(bob.create_multipart_upload, Bucket=abucket, Key="elsewhere") == "AccessDenied"


def test_a_copy_within_one_bucket_needs_read_of_the_source(alice, bob, abucket):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="secret", Body=b"s")
    put(alice, abucket, allow({"AWS": user_arn("bob")}, "s3:PutObject", arn(abucket, "*")))
    source = {"Bucket": abucket, "Key": "secret"}
    assert code(bob.copy_object, Bucket=abucket, Key="mine", CopySource=source) == "AccessDenied"
    assert [o["Key"] for o in alice.list_objects_v2(Bucket=abucket)["Contents"]] == ["secret"]
