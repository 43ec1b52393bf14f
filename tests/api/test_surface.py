"""Headers and parameters s3d does not honour are refused, not ignored; those it honours do what S3 does."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.api.test_post_object import _post
from tests.conftest import client_for
from tests.support import rawhttp

BODY = b"surface body"
UNKNOWN_VERSION = "3HL4kqtJlcpXroDTDmJ3HL4kqtJlcpXr"  # the form of an s3d version id (32 URL-safe characters)


def code(e: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


def absent(s3, bucket: str, key: str) -> bool:  # type: ignore[no-untyped-def]
    return "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=key)


# ---------- server-side encryption (the kinds s3d does: tests/sse) ----------
def test_put_with_dual_layer_sse_is_501_and_stores_nothing(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="enc", Body=BODY, ServerSideEncryption="aws:kms:dsse")
    assert code(e) == (501, "NotImplemented")
    assert absent(s3, bucket, "enc")


# ---------- object lock (tests/api/test_object_lock.py has the rest) ----------
def test_create_bucket_with_object_lock_false_works(s3) -> None:  # type: ignore[no-untyped-def]
    s3.create_bucket(Bucket="surface-unlocked", ObjectLockEnabledForBucket=False)
    s3.delete_bucket(Bucket="surface-unlocked")


# ---------- ACLs (honoured: tests/access/test_acl.py; here, never ignored) ----------
def test_put_with_private_acl_works(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="private", Body=BODY, ACL="private")
    assert s3.get_object(Bucket=bucket, Key="private")["Body"].read() == BODY


def test_put_with_grant_on_a_bucket_without_acls_is_refused_and_stores_nothing(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(
            Bucket=bucket, Key="granted", Body=BODY, GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"'
        )
    assert code(e) == (400, "AccessControlListNotSupported")
    assert absent(s3, bucket, "granted")


# ---------- other refused headers ----------
def test_put_with_website_redirect_is_501(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="redir", Body=BODY, WebsiteRedirectLocation="/elsewhere")
    assert code(e) == (501, "NotImplemented")


def test_put_with_write_offset_is_501(server, bucket) -> None:  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/append", body=BODY, headers={"x-amz-write-offset-bytes": "0"})
    assert (r.status, r.error_code) == (501, "NotImplemented")


def test_put_with_unsupported_checksum_is_501(server, bucket) -> None:  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/sha512", body=BODY, headers={"x-amz-checksum-sha512": "AAAA"})
    assert (r.status, r.error_code) == (501, "NotImplemented")


def test_delete_with_mfa_is_501_and_keeps_object(s3, server, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="mfa", Body=BODY)
    r = rawhttp.call(server, "DELETE", f"/{bucket}/mfa", headers={"x-amz-mfa": "serial 123456"})
    assert (r.status, r.error_code) == (501, "NotImplemented")
    assert s3.get_object(Bucket=bucket, Key="mfa")["Body"].read() == BODY


# ---------- versionId ----------
def test_get_version_null_serves_the_object(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="v", Body=BODY)
    assert s3.get_object(Bucket=bucket, Key="v", VersionId="null")["Body"].read() == BODY


def test_get_other_version_is_no_such_version(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="v", Body=BODY)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="v", VersionId=UNKNOWN_VERSION)
    assert code(e) == (404, "NoSuchVersion")


def test_delete_other_version_keeps_the_object(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="v", Body=BODY)
    s3.delete_object(Bucket=bucket, Key="v", VersionId=UNKNOWN_VERSION)
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == BODY


# ---------- expected bucket owner ----------
def test_expected_owner_matching_works(s3, server, bucket) -> None:  # type: ignore[no-untyped-def]
    owner = s3.list_buckets()["Owner"]["ID"]
    s3.put_object(Bucket=bucket, Key="o", Body=BODY, ExpectedBucketOwner=owner)
    assert s3.get_object(Bucket=bucket, Key="o", ExpectedBucketOwner=owner)["Body"].read() == BODY


def test_expected_owner_differing_is_403_and_writes_nothing(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="o", Body=BODY, ExpectedBucketOwner="111122223333")
    assert code(e) == (403, "AccessDenied")
    assert absent(s3, bucket, "o")


def test_expected_source_owner_differing_is_403(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="src", Body=BODY)
    with pytest.raises(ClientError) as e:
        s3.copy_object(
            Bucket=bucket,
            Key="dst",
            CopySource={"Bucket": bucket, "Key": "src"},
            ExpectedSourceBucketOwner="111122223333",
        )
    assert code(e) == (403, "AccessDenied")
    assert absent(s3, bucket, "dst")


# ---------- ListBuckets bucket-region ----------
def test_list_buckets_filters_by_region(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    here = [b["Name"] for b in s3.list_buckets(BucketRegion="us-east-1")["Buckets"]]
    elsewhere = [b["Name"] for b in s3.list_buckets(BucketRegion="eu-west-1")["Buckets"]]
    assert bucket in here
    assert bucket not in elsewhere


# ---------- PostObject form fields ----------
@pytest.mark.parametrize(
    "field",
    [
        {"x-amz-server-side-encryption": "aws:kms:dsse"},
        {"x-amz-object-lock-legal-hold": "ON"},
        {"x-amz-storage-class": "STANDARD_IA"},
        {"x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'},
    ],
)
def test_post_form_with_unhonoured_field_is_501_and_stores_nothing(server, s3, bucket, field) -> None:  # type: ignore[no-untyped-def]
    s3v4 = client_for(server.endpoint, server.access_key, server.secret_key, signature_version="s3v4")
    name, value = next(iter(field.items()))
    p = s3v4.generate_presigned_post(bucket, "posted", Fields=field, Conditions=[{name: value}])
    status, _, body = _post(p["url"], p["fields"], BODY)
    assert status == 501, body
    assert b"<Code>NotImplemented</Code>" in body
    assert absent(s3, bucket, "posted")


# ---------- copy source ----------
def test_copy_source_that_is_not_utf8_is_400(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/dst", headers={"x-amz-copy-source": f"/{bucket}/%FF%FE"})
    assert (r.status, r.error_code) == (400, "InvalidArgument")
