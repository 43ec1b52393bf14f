"""A request that names a version is authorized as the version action (s3:GetObjectVersion, s3:DeleteObjectVersion,
...), and bypassing GOVERNANCE retention needs s3:BypassGovernanceRetention besides the request's own action."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.access.conftest import allow, arn, code, deny, user_arn

_names = itertools.count()


@pytest.fixture
def vbucket(alice: Any) -> Iterator[str]:
    """A fresh bucket of alice's with object lock (so versioning) on; every version removed afterwards."""
    name = f"accv-{os.getpid()}-{next(_names)}"
    alice.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    alice.delete_bucket_policy(Bucket=name)
    listed = alice.list_object_versions(Bucket=name)
    for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        alice.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True)
    alice.delete_bucket(Bucket=name)


def put_policy(alice: Any, bucket: str, *statements: dict[str, Any]) -> None:
    alice.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def two_versions(alice: Any, bucket: str) -> str:
    """Key "k" with an old version (returned) and a current one."""
    old = alice.put_object(Bucket=bucket, Key="k", Body=b"old")["VersionId"]
    alice.put_object(Bucket=bucket, Key="k", Body=b"new")
    return str(old)


def test_deny_get_object_version_refuses_reads_of_a_named_version_only(alice, vbucket):  # type: ignore[no-untyped-def]
    old = two_versions(alice, vbucket)
    put_policy(alice, vbucket, deny("*", "s3:GetObjectVersion", arn(vbucket, "*")))
    assert code(alice.get_object, Bucket=vbucket, Key="k", VersionId=old) == "AccessDenied"
    assert code(alice.head_object, Bucket=vbucket, Key="k", VersionId=old) == "403"
    assert alice.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"new"


def test_deny_delete_object_version_keeps_every_version(alice, vbucket):  # type: ignore[no-untyped-def]
    old = two_versions(alice, vbucket)
    put_policy(alice, vbucket, deny("*", "s3:DeleteObjectVersion", arn(vbucket, "*")))
    assert code(alice.delete_object, Bucket=vbucket, Key="k", VersionId=old) == "AccessDenied"
    r = alice.delete_objects(Bucket=vbucket, Delete={"Objects": [{"Key": "k", "VersionId": old}]})
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("k", "AccessDenied")]
    alice.delete_object(Bucket=vbucket, Key="k")  # s3:DeleteObject: a delete marker, no version lost
    alice.delete_bucket_policy(Bucket=vbucket)
    listed = alice.list_object_versions(Bucket=vbucket)
    assert len(listed["Versions"]) == 2 and len(listed["DeleteMarkers"]) == 1
    assert alice.get_object(Bucket=vbucket, Key="k", VersionId=old)["Body"].read() == b"old"


def test_deny_put_object_version_tagging_refuses_tagging_a_named_version(alice, vbucket):  # type: ignore[no-untyped-def]
    old = two_versions(alice, vbucket)
    put_policy(alice, vbucket, deny("*", "s3:PutObjectVersionTagging", arn(vbucket, "*")))
    tags = {"TagSet": [{"Key": "a", "Value": "b"}]}
    assert code(alice.put_object_tagging, Bucket=vbucket, Key="k", VersionId=old, Tagging=tags) == "AccessDenied"
    alice.put_object_tagging(Bucket=vbucket, Key="k", Tagging=tags)
    assert alice.get_object_tagging(Bucket=vbucket, Key="k", VersionId=old)["TagSet"] == []


def test_allow_get_object_does_not_allow_reading_a_named_version(alice, bob, vbucket):  # type: ignore[no-untyped-def]
    old = two_versions(alice, vbucket)
    put_policy(alice, vbucket, allow({"AWS": user_arn("bob")}, "s3:GetObject", arn(vbucket, "*")))
    assert bob.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"new"
    assert code(bob.get_object, Bucket=vbucket, Key="k", VersionId=old) == "AccessDenied"
    put_policy(alice, vbucket, allow({"AWS": user_arn("bob")}, "s3:GetObjectVersion", arn(vbucket, "*")))
    assert bob.get_object(Bucket=vbucket, Key="k", VersionId=old)["Body"].read() == b"old"


def test_copy_of_a_named_version_needs_get_object_version(alice, bob, vbucket):  # type: ignore[no-untyped-def]
    old = two_versions(alice, vbucket)
    put_policy(alice, vbucket, allow({"AWS": user_arn("bob")}, ["s3:GetObject", "s3:PutObject"], arn(vbucket, "*")))
    source = {"Bucket": vbucket, "Key": "k", "VersionId": old}
    assert code(bob.copy_object, Bucket=vbucket, Key="copy", CopySource=source) == "AccessDenied"
    bob.copy_object(Bucket=vbucket, Key="copy", CopySource={"Bucket": vbucket, "Key": "k"})
    assert alice.get_object(Bucket=vbucket, Key="copy")["Body"].read() == b"new"


def governed(alice: Any, bucket: str, key: str) -> str:
    until = datetime.now(UTC) + timedelta(days=1)
    r = alice.put_object(
        Bucket=bucket, Key=key, Body=b"kept", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until
    )
    return str(r["VersionId"])


def test_bypassing_governance_needs_bypass_governance_retention(alice, vbucket):  # type: ignore[no-untyped-def]
    v = governed(alice, vbucket, "g")
    put_policy(alice, vbucket, deny("*", "s3:BypassGovernanceRetention", arn(vbucket, "*")))
    bypass = {"Bucket": vbucket, "Key": "g", "VersionId": v, "BypassGovernanceRetention": True}
    assert code(alice.delete_object, **bypass) == "AccessDenied"
    r = alice.delete_objects(
        Bucket=vbucket, Delete={"Objects": [{"Key": "g", "VersionId": v}]}, BypassGovernanceRetention=True
    )
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("g", "AccessDenied")]
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": datetime.now(UTC) + timedelta(hours=1)}
    assert code(alice.put_object_retention, **bypass, Retention=shorter) == "AccessDenied"
    assert alice.get_object(Bucket=vbucket, Key="g", VersionId=v)["Body"].read() == b"kept"


def test_the_owner_may_bypass_governance_unless_denied(alice, vbucket):  # type: ignore[no-untyped-def]
    v = governed(alice, vbucket, "g")
    alice.delete_object(Bucket=vbucket, Key="g", VersionId=v, BypassGovernanceRetention=True)
    assert "Versions" not in alice.list_object_versions(Bucket=vbucket)


def test_another_user_bypasses_governance_only_with_the_permission(alice, bob, vbucket):  # type: ignore[no-untyped-def]
    v = governed(alice, vbucket, "g")
    bob_may = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    put_policy(alice, vbucket, allow({"AWS": user_arn("bob")}, bob_may, arn(vbucket, "*")))
    bypass = {"Bucket": vbucket, "Key": "g", "VersionId": v, "BypassGovernanceRetention": True}
    assert code(bob.delete_object, **bypass) == "AccessDenied"
    bob_may.append("s3:BypassGovernanceRetention")
    put_policy(alice, vbucket, allow({"AWS": user_arn("bob")}, bob_may, arn(vbucket, "*")))
    bob.delete_object(**bypass)
    assert "Versions" not in alice.list_object_versions(Bucket=vbucket)
