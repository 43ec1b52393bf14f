"""ACLs, object ownership and public access blocks: canned ACLs, grants, and what each allows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.access.conftest import code
from tests.support import rawhttp

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


def acls_on(alice: Any, bucket: str, public: bool = True) -> None:
    """Let the bucket use ACLs (ObjectWriter) and, with ``public``, public ones."""
    alice.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    if public:
        alice.delete_public_access_block(Bucket=bucket)


def grants(resp: dict[str, Any]) -> set[tuple[str, str]]:
    out = set()
    for g in resp["Grants"]:
        who = g["Grantee"].get("ID") or g["Grantee"].get("URI")
        out.add((who, g["Permission"]))
    return out


def read(client: Any, bucket: str, key: str) -> str:
    return code(lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read())


# ---------- defaults: BucketOwnerEnforced, public access blocked ----------
def test_new_bucket_has_aws_defaults(alice, abucket):  # type: ignore[no-untyped-def]
    rules = alice.get_bucket_ownership_controls(Bucket=abucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    pab = alice.get_public_access_block(Bucket=abucket)["PublicAccessBlockConfiguration"]
    assert pab == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert grants(alice.get_bucket_acl(Bucket=abucket)) == {("alice", "FULL_CONTROL")}


def test_owner_enforced_refuses_a_public_canned_acl(alice, abucket):  # type: ignore[no-untyped-def]
    assert (
        code(alice.put_object, Bucket=abucket, Key="k", Body=b"x", ACL="public-read") == "AccessControlListNotSupported"
    )
    assert code(alice.head_object, Bucket=abucket, Key="k") == "404"


@pytest.mark.parametrize("acl", ["private", "bucket-owner-full-control"])
def test_owner_enforced_accepts_owner_only_acls(alice, abucket, acl):  # type: ignore[no-untyped-def]
    alice.put_object(Bucket=abucket, Key="k", Body=b"x", ACL=acl)
    assert grants(alice.get_object_acl(Bucket=abucket, Key="k")) == {("alice", "FULL_CONTROL")}


def test_create_bucket_with_public_acl_and_no_ownership_is_refused(alice):  # type: ignore[no-untyped-def]
    assert code(alice.create_bucket, Bucket="acl-refused-1", ACL="public-read") == "InvalidBucketAclWithObjectOwnership"
    assert code(alice.head_bucket, Bucket="acl-refused-1") == "404"


def test_create_bucket_with_public_acl_is_refused_by_the_default_block(alice):  # type: ignore[no-untyped-def]
    got = code(alice.create_bucket, Bucket="acl-refused-2", ACL="public-read", ObjectOwnership="ObjectWriter")
    assert got == "InvalidBucketAclWithBlockPublicAccessError"
    assert code(alice.head_bucket, Bucket="acl-refused-2") == "404"


def test_create_bucket_with_object_ownership_header(alice):  # type: ignore[no-untyped-def]
    alice.create_bucket(Bucket="acl-writer-owned", ObjectOwnership="ObjectWriter")
    try:
        rules = alice.get_bucket_ownership_controls(Bucket="acl-writer-owned")["OwnershipControls"]["Rules"]
        assert rules == [{"ObjectOwnership": "ObjectWriter"}]
    finally:
        alice.delete_bucket(Bucket="acl-writer-owned")


def test_recreating_your_bucket_in_us_east_1_resets_its_acl(alice, bob, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_bucket_acl(Bucket=abucket, GrantRead='id="bob"')
    assert code(bob.list_objects_v2, Bucket=abucket) == "ok"
    alice.create_bucket(Bucket=abucket)  # 200 in us-east-1, as at AWS, which resets the bucket's ACL
    assert grants(alice.get_bucket_acl(Bucket=abucket)) == {("alice", "FULL_CONTROL")}
    assert code(bob.list_objects_v2, Bucket=abucket) == "AccessDenied"


# ---------- every canned ACL on an object ----------
@pytest.mark.parametrize(
    "acl, expected, anon_reads, bob_reads",
    [
        ("private", {("alice", "FULL_CONTROL")}, False, False),
        ("public-read", {("alice", "FULL_CONTROL"), (ALL_USERS, "READ")}, True, True),
        ("public-read-write", {("alice", "FULL_CONTROL"), (ALL_USERS, "READ"), (ALL_USERS, "WRITE")}, True, True),
        ("authenticated-read", {("alice", "FULL_CONTROL"), (AUTH_USERS, "READ")}, False, True),
        ("bucket-owner-read", {("alice", "FULL_CONTROL")}, False, False),
        ("bucket-owner-full-control", {("alice", "FULL_CONTROL")}, False, False),
    ],
)
def test_canned_acl_on_put_object(alice, bob, anon, abucket, acl, expected, anon_reads, bob_reads):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_object(Bucket=abucket, Key="k", Body=b"x", ACL=acl)
    assert grants(alice.get_object_acl(Bucket=abucket, Key="k")) == expected
    assert (read(anon, abucket, "k") == "ok") is anon_reads
    assert (read(bob, abucket, "k") == "ok") is bob_reads


def test_bucket_owner_canned_acls_grant_the_bucket_owner_when_another_user_writes(alice, bob, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket, public=False)
    alice.put_bucket_acl(Bucket=abucket, GrantWrite='id="bob"', GrantFullControl='id="alice"')
    bob.put_object(Bucket=abucket, Key="r", Body=b"x", ACL="bucket-owner-read")
    bob.put_object(Bucket=abucket, Key="f", Body=b"x", ACL="bucket-owner-full-control")
    assert grants(bob.get_object_acl(Bucket=abucket, Key="r")) == {("bob", "FULL_CONTROL"), ("alice", "READ")}
    assert grants(bob.get_object_acl(Bucket=abucket, Key="f")) == {("bob", "FULL_CONTROL"), ("alice", "FULL_CONTROL")}
    assert alice.get_object_acl(Bucket=abucket, Key="r")["Owner"]["ID"] == "bob"


# ---------- every canned ACL on a bucket ----------
@pytest.mark.parametrize(
    "acl, anon_lists, bob_lists, anon_writes",
    [
        ("private", False, False, False),
        ("public-read", True, True, False),
        ("public-read-write", True, True, True),
        ("authenticated-read", False, True, False),
    ],
)
def test_canned_acl_on_a_bucket(alice, bob, anon, abucket, acl, anon_lists, bob_lists, anon_writes):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_bucket_acl(Bucket=abucket, ACL=acl)
    assert (code(anon.list_objects_v2, Bucket=abucket) == "ok") is anon_lists
    assert (code(bob.list_objects_v2, Bucket=abucket) == "ok") is bob_lists
    assert (code(anon.put_object, Bucket=abucket, Key="anon", Body=b"x") == "ok") is anon_writes


def test_bucket_owner_canned_acls_are_for_objects_only(alice, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    assert code(alice.put_bucket_acl, Bucket=abucket, ACL="bucket-owner-read") == "InvalidArgument"


# ---------- grants ----------
def test_grant_read_by_canonical_id(alice, bob, anon, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_object(Bucket=abucket, Key="k", Body=b"for bob", GrantRead='id="bob"')
    assert bob.get_object(Bucket=abucket, Key="k")["Body"].read() == b"for bob"
    assert read(anon, abucket, "k") == "AccessDenied"
    assert code(bob.get_object_acl, Bucket=abucket, Key="k") == "AccessDenied"


def test_grant_read_acp_lets_a_user_read_the_acl_only(alice, bob, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_object(Bucket=abucket, Key="k", Body=b"x", GrantReadACP='id="bob"')
    assert ("bob", "READ_ACP") in grants(bob.get_object_acl(Bucket=abucket, Key="k"))
    assert read(bob, abucket, "k") == "AccessDenied"


def test_grant_to_all_users_group_by_uri(alice, anon, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_object(Bucket=abucket, Key="k", Body=b"everyone", GrantRead=f'uri="{ALL_USERS}"')
    assert anon.get_object(Bucket=abucket, Key="k")["Body"].read() == b"everyone"


def test_grant_to_an_unknown_id_is_invalid_argument(alice, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    assert code(alice.put_object, Bucket=abucket, Key="k", Body=b"x", GrantRead='id="mallory"') == "InvalidArgument"


def test_grant_by_email_is_unresolvable(alice, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    got = code(alice.put_object, Bucket=abucket, Key="k", Body=b"x", GrantRead='emailAddress="a@example.com"')
    assert got == "UnresolvableGrantByEmailAddress"


def test_canned_acl_and_grant_headers_together_are_refused(daemon, alice, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    r = rawhttp.request(
        daemon.endpoint, "PUT", f"/{abucket}/k", access_key="AKALICE0000000000001", secret_key="alice-secret-0123456789",
        headers={"x-amz-acl": "public-read", "x-amz-grant-read": 'id="bob"'}, body=b"x",
    )  # fmt: skip
    assert (r.status, r.error_code) == (400, "InvalidRequest")


def test_put_object_acl_with_an_access_control_policy_document(alice, bob, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_object(Bucket=abucket, Key="k", Body=b"later shared")
    assert read(bob, abucket, "k") == "AccessDenied"
    owner = {"ID": "alice", "DisplayName": "alice"}
    alice.put_object_acl(
        Bucket=abucket, Key="k",
        AccessControlPolicy={
            "Owner": owner,
            "Grants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": "alice"}, "Permission": "FULL_CONTROL"},
                {"Grantee": {"Type": "CanonicalUser", "ID": "bob"}, "Permission": "READ"},
            ],
        },
    )  # fmt: skip
    assert bob.get_object(Bucket=abucket, Key="k")["Body"].read() == b"later shared"
    assert alice.get_object(Bucket=abucket, Key="k")["Body"].read() == b"later shared"


def test_a_new_put_replaces_the_object_acl(alice, anon, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_object(Bucket=abucket, Key="k", Body=b"v1", ACL="public-read")
    assert read(anon, abucket, "k") == "ok"
    alice.put_object(Bucket=abucket, Key="k", Body=b"v2")
    assert read(anon, abucket, "k") == "AccessDenied"


def test_copy_does_not_copy_the_acl_but_takes_its_own(alice, anon, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_object(Bucket=abucket, Key="src", Body=b"x", ACL="public-read")
    alice.copy_object(Bucket=abucket, Key="plain", CopySource={"Bucket": abucket, "Key": "src"})
    alice.copy_object(Bucket=abucket, Key="pub", CopySource={"Bucket": abucket, "Key": "src"}, ACL="public-read")
    assert read(anon, abucket, "plain") == "AccessDenied"
    assert read(anon, abucket, "pub") == "ok"


def test_multipart_upload_takes_the_acl_of_its_create(alice, anon, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    up = alice.create_multipart_upload(Bucket=abucket, Key="mp", ACL="public-read")["UploadId"]
    etag = alice.upload_part(Bucket=abucket, Key="mp", UploadId=up, PartNumber=1, Body=b"parts")["ETag"]
    alice.complete_multipart_upload(
        Bucket=abucket, Key="mp", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
    )
    assert anon.get_object(Bucket=abucket, Key="mp")["Body"].read() == b"parts"


def test_post_with_canned_acl_field(daemon, alice, anon, abucket):  # type: ignore[no-untyped-def]
    from tests.api.test_post_object import _post

    acls_on(alice, abucket)
    p = alice.generate_presigned_post(
        abucket, "form", Fields={"acl": "public-read"}, Conditions=[{"acl": "public-read"}]
    )
    status, _, body = _post(p["url"], p["fields"], b"posted")
    assert status == 204, body
    assert anon.get_object(Bucket=abucket, Key="form")["Body"].read() == b"posted"


# ---------- ownership controls ----------
def test_ownership_controls_round_trip(alice, abucket):  # type: ignore[no-untyped-def]
    alice.put_bucket_ownership_controls(
        Bucket=abucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    )
    rules = alice.get_bucket_ownership_controls(Bucket=abucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    alice.delete_bucket_ownership_controls(Bucket=abucket)
    assert code(alice.get_bucket_ownership_controls, Bucket=abucket) == "OwnershipControlsNotFoundError"


def test_owner_enforced_cannot_return_while_the_bucket_acl_grants_others(alice, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_bucket_acl(Bucket=abucket, ACL="public-read")
    got = code(
        alice.put_bucket_ownership_controls, Bucket=abucket,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )  # fmt: skip
    assert got == "InvalidBucketAclWithObjectOwnership"


def test_owner_enforced_ignores_acls_granted_before(alice, anon, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_object(Bucket=abucket, Key="k", Body=b"x", ACL="public-read")
    assert read(anon, abucket, "k") == "ok"
    alice.put_bucket_ownership_controls(
        Bucket=abucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    assert read(anon, abucket, "k") == "AccessDenied"


# ---------- public access block ----------
def test_block_public_acls_refuses_a_public_acl(alice, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_public_access_block(Bucket=abucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    assert code(alice.put_object, Bucket=abucket, Key="k", Body=b"x", ACL="public-read") == "AccessDenied"
    assert code(alice.put_bucket_acl, Bucket=abucket, ACL="public-read") == "AccessDenied"
    alice.put_object(Bucket=abucket, Key="k", Body=b"x", ACL="private")


def test_ignore_public_acls_stops_existing_public_grants(alice, anon, bob, abucket):  # type: ignore[no-untyped-def]
    acls_on(alice, abucket)
    alice.put_object(Bucket=abucket, Key="k", Body=b"x", ACL="public-read")
    alice.put_object(Bucket=abucket, Key="b", Body=b"x", GrantRead='id="bob"')
    assert read(anon, abucket, "k") == "ok"
    alice.put_public_access_block(Bucket=abucket, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert read(anon, abucket, "k") == "AccessDenied"
    assert read(bob, abucket, "b") == "ok"


def test_public_access_block_round_trip(alice, abucket):  # type: ignore[no-untyped-def]
    alice.put_public_access_block(Bucket=abucket, PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    got = alice.get_public_access_block(Bucket=abucket)["PublicAccessBlockConfiguration"]
    assert got == {
        "BlockPublicAcls": False,
        "IgnorePublicAcls": False,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False,
    }
    alice.delete_public_access_block(Bucket=abucket)
    assert code(alice.get_public_access_block, Bucket=abucket) == "NoSuchPublicAccessBlockConfiguration"


def test_other_users_cannot_change_access_settings(alice, bob, abucket):  # type: ignore[no-untyped-def]
    assert code(bob.delete_public_access_block, Bucket=abucket) == "AccessDenied"
    assert code(bob.put_bucket_acl, Bucket=abucket, ACL="public-read") == "AccessDenied"
    assert code(bob.get_bucket_acl, Bucket=abucket) == "AccessDenied"
    assert code(bob.delete_bucket_ownership_controls, Bucket=abucket) == "AccessDenied"
